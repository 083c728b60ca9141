"""``hf-graph4mm evaluate``: generate with ``generate()`` (never teacher-forced argmax) and score.

Summarisation rows (``target_text``) get BLEU-4 / ROUGE-L / CIDEr; classification rows
(``label_name``) are ranked over candidate label names by the LM's log-likelihood and get
accuracy. GsiT checkpoints get the MSA metric set.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .arguments import DataArguments


@torch.no_grad()
def classify_rows(
    model, processor, rows, candidates: list[str], prompt, shared_graph=None, batch_size: int = 8
):
    """Rank ``candidates`` for every row; returns the predicted label names (see training/classification.py)."""
    from ..data.user_graph.labels import Verbalizer
    from .classification import rank_classes

    return rank_classes(
        model, processor, rows, Verbalizer.build(candidates), prompt, shared_graph, batch_size
    )


def evaluate_graph4mm(
    model, processor, split, data_args: DataArguments, shared_graph=None
) -> dict[str, float]:
    from ..metrics import compute_generation_metrics
    from .graph4mm_task import generate_texts

    task = getattr(data_args, "eval_task", "auto")
    if task not in ("auto", "generation", "classification"):
        raise ValueError(f"eval_task must be auto, generation or classification, got {task!r}")
    if task == "classification" or (task == "auto" and "label_name" in split.column_names):
        from .classification import evaluate_classification

        return evaluate_classification(
            model,
            processor,
            split,
            labels=getattr(data_args, "labels", None),
            dataset=data_args.dataset,
            prompt=data_args.prompt,
            shared_graph=shared_graph,
        )
    predictions = generate_texts(
        model,
        processor,
        split,
        data_args.prompt,
        shared_graph=shared_graph,
        max_new_tokens=data_args.max_new_tokens,
        num_beams=data_args.num_beams,
        do_sample=False,
    )
    metrics = compute_generation_metrics(predictions, split["target_text"])
    metrics["num_samples"] = len(predictions)
    return metrics


def main(argv: list[str]) -> int:
    from ..data.references import resolve_reference
    from .command_line import evaluate_parser, parse_with
    from .reporting import metrics_table, write_metrics

    args = parse_with(evaluate_parser(), argv)
    resolve_reference(args.model, what="--model")  # a missing folder is an error here, never a Hub lookup
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(args.model)
    data_args = DataArguments(
        dataset=args.dataset,
        raw_dir=args.raw_dir,
        images_dir=args.images_dir,
        max_eval_samples=args.max_eval_samples,
        max_new_tokens=args.max_new_tokens,
        num_beams=args.num_beams,
        prompt=args.prompt,
        msa_metrics=args.msa_metrics,
        eval_task=args.eval_task,
        labels=args.labels,
    )
    if config.model_type == "gsit":
        metrics = _evaluate_gsit(args.model, data_args, args.split)
    else:
        from ..modeling.graph4mm import Graph4MMForConditionalGeneration
        from ..processing import Graph4MMProcessor
        from .graph4mm_task import load_graph4mm_dataset

        dataset, shared_graph = load_graph4mm_dataset(data_args)
        model = Graph4MMForConditionalGeneration.from_pretrained(args.model)
        processor = Graph4MMProcessor.from_pretrained(args.model)
        split = pick_split(dataset, args.split, args.dataset)
        metrics = evaluate_graph4mm(model, processor, split, data_args, shared_graph)
    output = Path(args.output) if args.output else Path(args.model) / "eval_metrics.json"
    write_metrics(output, metrics)
    print(metrics_table({f"{Path(args.model).name} ({args.split})": metrics}))
    print(f"metrics written to {output}")
    return 0


def pick_split(dataset, split: str, name: str):
    """``dataset[split]``; a one-split source (a single file) gives its only split."""
    if split in dataset:
        return dataset[split]
    if len(dataset) == 1:
        return next(iter(dataset.values()))
    raise ValueError(
        f"dataset {name!r} has splits {sorted(dataset)}, not {split!r} (choose one with --split)"
    )


@torch.no_grad()
def _evaluate_gsit(model_path: str, data_args: DataArguments, split: str) -> dict[str, float]:
    from torch.utils.data import DataLoader

    from ..metrics.msa import compute_msa_metrics
    from ..modeling.gsit import GsiTForSequenceClassification
    from ..processing import GsiTCollator
    from .gsit_task import load_gsit_dataset

    rows = pick_split(load_gsit_dataset(data_args), split, data_args.dataset)
    model = GsiTForSequenceClassification.from_pretrained(model_path).eval()
    collator = GsiTCollator.from_config(model.config)
    predictions, labels = [], []
    for batch in DataLoader(rows, batch_size=32, collate_fn=collator):
        labels.append(batch.pop("labels"))
        predictions.append(model(**batch).logits.reshape(-1))
    return compute_msa_metrics(
        torch.cat(predictions).numpy(), torch.cat(labels).float().numpy(), data_args.msa_metrics
    )
