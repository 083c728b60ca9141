import torch
from safetensors.torch import load_file
from transformers import TrainerCallback, TrainingArguments

from hf_graph4mm.testing.samples.mmsa import write_mmsa_sample
from hf_graph4mm.training.arguments import DataArguments, ModelArguments
from hf_graph4mm.training.train import train_gsit

TOTAL_STEPS = 6


class StopAfter(TrainerCallback):
    """Simulate an interruption: end training after ``step`` steps of a run planned for more."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True
        return control


def _args(output_dir, resume=None):
    return TrainingArguments(
        output_dir=str(output_dir),
        max_steps=TOTAL_STEPS,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        save_strategy="steps",
        save_steps=3,
        eval_strategy="no",
        logging_steps=1,
        report_to="none",
        use_cpu=True,
        seed=7,
        resume_from_checkpoint=resume,
        disable_tqdm=True,
    )


def test_interrupted_training_resumes_to_the_same_parameters(tmp_path):
    """6 steps straight == 3 steps, interruption, resume from checkpoint-3 (dropout on, shuffled data, LR decay)."""
    pickle = write_mmsa_sample(tmp_path / "data")
    model_args = ModelArguments(model_family="gsit", hidden_size=16, num_attention_heads=2, num_layers=1)
    data_args = DataArguments(dataset="mmsa", raw_dir=str(pickle), max_eval_samples=4)

    straight = train_gsit(model_args, data_args, _args(tmp_path / "straight")).model
    interrupted = tmp_path / "interrupted"
    train_gsit(model_args, data_args, _args(interrupted), callbacks=[StopAfter(3)])
    checkpoint = interrupted / "checkpoint-3"
    assert (checkpoint / "optimizer.pt").is_file() and not (interrupted / "checkpoint-6").exists()
    resumed = train_gsit(model_args, data_args, _args(interrupted, resume=str(checkpoint))).model

    halfway = load_file(checkpoint / "model.safetensors")
    moved = 0.0
    for (name, a), (_, b) in zip(straight.named_parameters(), resumed.named_parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=name)
        moved = max(moved, (a.detach() - halfway[name]).abs().max().item())
    assert moved > 1e-4, "steps 4-6 changed nothing: the comparison would be vacuous"
