import math

import torch
from transformers import TrainingArguments

from hf_graph4mm.training.arguments import DataArguments, ModelArguments
from hf_graph4mm.training.train import train_graph4mm

DATA = DataArguments(
    dataset="sample",
    max_train_samples=4,
    max_eval_samples=1,
    max_length=160,
    max_target_length=8,
    max_node_tokens=8,
    max_new_tokens=2,
)


def _args(tmp_path, **overrides):
    return TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=2,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
        **overrides,
    )


def test_optimizer_holds_exactly_the_trainable_parameters(tmp_path):
    """Frozen vision encoder and LM (paper setting): only the graph modules, Q-Former and projections train."""
    result = train_graph4mm(ModelArguments(freeze_language_model=True), DATA, _args(tmp_path))
    model, optimizer = result.model, result.trainer.optimizer
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert in_optimizer == trainable
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert any(n.startswith("vision_model.") for n in frozen) and any(
        n.startswith("language_model.") for n in frozen
    )
    assert not any(n.startswith(("qformer.", "language_projection")) for n in frozen)


def test_gradient_checkpointing_and_bf16_autocast_train(tmp_path):
    """The flags users reach for on big backbones run (bf16 autocast works on CPU; fp16 needs a GPU)."""
    args = _args(tmp_path, activation_checkpointing=True, bf16=True, logging_steps=1)
    result = train_graph4mm(ModelArguments(), DATA, args)
    losses = [entry["loss"] for entry in result.trainer.state.log_history if "loss" in entry]
    assert len(losses) == 2 and all(math.isfinite(loss) for loss in losses)
    assert result.model.language_model.is_activation_checkpointing
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
