"""One Trainer step of a tiny Graph4MM on a fixed batch of 4 rows, saving the updated parameters.

Run alone (full batch of 4) or under ``accelerate launch --num_processes 2`` (2 rows per
process): the saved parameters must agree, which holds only if the loss is normalised over
the answer tokens of the *global* batch (the rows have answers of different lengths).
"""

import sys

import torch
from safetensors.torch import save_file
from transformers import Trainer, TrainingArguments

from hf_graph4mm.processing import Graph4MMCollator, MultimodalGraph
from hf_graph4mm.training.arguments import DataArguments, ModelArguments
from hf_graph4mm.training.graph4mm_task import build_graph4mm


def rows():
    graph = MultimodalGraph(
        texts=["page about rivers", "the river flows north", "its delta is wide", "a bridge crosses it"],
        edges=[(0, 1), (0, 2), (2, 3)],
        name="rivers",
    ).to_dict()
    answers = ["a", "rivers flow into the sea", "deltas", "bridges cross the water below"]
    return [{"id": str(i), "graph": graph, "target_node": i, "target_text": a} for i, a in enumerate(answers)]


def main(output_path: str, per_device_batch: int, accumulation: int = 1) -> None:
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)  # float32 summation order would differ by ~1e-4 between runs
    data_args = DataArguments(max_length=192, max_target_length=32, max_node_tokens=32)
    model, processor = build_graph4mm(ModelArguments(structure="hop_diffused"), data_args)
    for module in model.modules():  # dropout would draw different masks on each process
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if isinstance(getattr(module, "dropout", None), float):  # attention-probability dropout
            module.dropout = 0.0
    args = TrainingArguments(
        output_dir=output_path + ".run",
        per_device_train_batch_size=per_device_batch,
        gradient_accumulation_steps=accumulation,
        max_steps=1,
        learning_rate=0.5,
        optim="sgd",
        lr_scheduler_type="constant",
        max_grad_norm=0.0,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        remove_unused_columns=False,
        dataloader_drop_last=False,
        seed=0,
    )
    initial = {f"initial.{n}": p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    trainer = Trainer(model=model, args=args, train_dataset=rows(), data_collator=Graph4MMCollator(processor))
    trainer.train()
    if trainer.is_world_process_zero():
        trainable = {
            n: p.detach().contiguous() for n, p in trainer.model.named_parameters() if p.requires_grad
        }
        save_file({**trainable, **initial}, output_path)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
