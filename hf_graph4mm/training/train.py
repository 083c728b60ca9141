"""``hf-graph4mm train``: fine-tune Graph4MM or GsiT with ``Trainer``, then evaluate on the test split."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .arguments import DataArguments, ModelArguments, parse_arguments

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a training run leaves behind."""

    model: Any
    trainer: Any
    metrics: dict[str, float]
    processor: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


def _msa_metric_set(data_args: DataArguments, preset: str | None = None) -> str:
    if data_args.msa_metrics != "auto":
        return data_args.msa_metrics
    if preset:
        return preset.lower()
    source = (data_args.raw_dir or "").lower()
    return "sims" if "sims" in source else "mosei" if "mosei" in source else "mosi"


def train_gsit(
    model_args: ModelArguments, data_args: DataArguments, training_args, callbacks=None
) -> TrainResult:
    from transformers import Trainer, set_seed

    from ..processing import GsiTCollator
    from .gsit_task import (
        build_gsit_model,
        load_gsit_dataset,
        msa_compute_metrics,
        published_optimizer,
        training_callbacks,
    )

    # the collator reads the columns it knows and names a bad sample by its id, so keep every column
    training_args.remove_unused_columns = False
    set_seed(training_args.seed)  # the fresh model's init must be reproducible too, not only training
    dataset = load_gsit_dataset(data_args)
    if "train" not in dataset:
        raise ValueError(f"dataset {data_args.dataset!r} has no train split (it has {sorted(dataset)})")
    model = build_gsit_model(model_args, dataset["train"])
    optimizer = (
        published_optimizer(model, model_args, training_args) if model_args.published_optimizer else None
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        data_collator=GsiTCollator.from_config(model.config),
        train_dataset=dataset["train"],
        eval_dataset=dataset.get("validation"),
        compute_metrics=msa_compute_metrics(_msa_metric_set(data_args, model_args.preset)),
        callbacks=[*(callbacks or []), *training_callbacks(model_args)],
        optimizers=(optimizer, None),
    )
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    metrics = trainer.evaluate(dataset["test"], metric_key_prefix="test") if "test" in dataset else {}
    return TrainResult(model=model, trainer=trainer, metrics=metrics)


def train_graph4mm(
    model_args: ModelArguments, data_args: DataArguments, training_args, callbacks=None
) -> TrainResult:
    from transformers import Trainer, set_seed

    from ..processing import Graph4MMCollator
    from .evaluate import evaluate_graph4mm
    from .graph4mm_task import apply_peft, build_graph4mm, load_graph4mm_dataset

    if training_args.remove_unused_columns:
        # the collator needs the raw graph columns, which forward() does not name
        logger.info("remove_unused_columns set to False: Graph4MM rows are processed by the collator")
        training_args.remove_unused_columns = False
    dataset, shared_graph = load_graph4mm_dataset(data_args)  # local data first: no backbone download before
    if "train" not in dataset:
        raise ValueError(f"dataset {data_args.dataset!r} has no train split (it has {sorted(dataset)})")
    set_seed(training_args.seed)  # the fresh model's init must be reproducible too, not only training
    model, processor = build_graph4mm(model_args, data_args)
    model = apply_peft(model, model_args)
    vision_cache = None
    if data_args.cache_vision_features:
        from .vision_cache import VisionFeatureCache, images_of_rows

        rows = (
            ()
            if shared_graph is not None
            else (r for split in dataset.values() for r in split.select_columns(["graph"]))
        )
        vision_cache = VisionFeatureCache.build(model, processor, images_of_rows(rows, shared_graph))
        if training_args.should_save:
            vision_cache.save(f"{training_args.output_dir}/vision_features.safetensors")
    collator = Graph4MMCollator(
        processor, prompt=data_args.prompt, graph=shared_graph, vision_cache=vision_cache
    )
    evaluating = training_args.eval_strategy != "no" and "validation" in dataset
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=dataset["train"],
        eval_dataset=dataset["validation"] if evaluating else None,
        data_collator=collator,
        callbacks=callbacks,
    )
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    processor.save_pretrained(training_args.output_dir)
    metrics = {}
    if "test" in dataset and len(dataset["test"]):
        metrics = evaluate_graph4mm(trainer.model, processor, dataset["test"], data_args, shared_graph)
    return TrainResult(model=trainer.model, trainer=trainer, metrics=metrics, processor=processor)


def run_training(
    model_args: ModelArguments, data_args: DataArguments, training_args, callbacks=None
) -> TrainResult:
    run = train_graph4mm if model_args.model_family == "graph4mm" else train_gsit
    return run(model_args, data_args, training_args, callbacks=callbacks)


def check_references(model_args: ModelArguments, data_args: DataArguments) -> None:
    """Every folder / Hub id the run names, checked before anything loads or downloads, local data first: a
    missing path is an error (never a Hub id), a Hub id offline fails now
    (:func:`~hf_graph4mm.data.references.resolve_reference`)."""
    from ..data.layouts import GRAPH_NAMES, SENTIMENT_NAMES
    from ..data.references import require_local, resolve_reference

    named = GRAPH_NAMES if model_args.model_family == "graph4mm" else SENTIMENT_NAMES
    if data_args.dataset in named:
        if data_args.dataset in ("wikiweb2m", "ele_fashion", "mmsa") and not data_args.raw_dir:
            raise ValueError(f"dataset={data_args.dataset} needs --raw_dir with the release's files")
        for flag in ("raw_dir", "images_dir"):
            if getattr(data_args, flag):
                require_local(getattr(data_args, flag), what=f"--{flag}")
    else:
        resolve_reference(data_args.dataset, what="--dataset", repo_type="dataset")
    if model_args.model_name_or_path:
        resolve_reference(model_args.model_name_or_path, what="--model_name_or_path")
    elif model_args.model_family == "graph4mm":
        from .graph4mm_task import TINY_BACKBONES

        for flag in ("vision_model", "language_model"):
            name = getattr(model_args, flag)
            if name not in TINY_BACKBONES:
                resolve_reference(name, what=f"--{flag}")


def main(argv: list[str]) -> int:
    from .command_line import (
        expand_config,
        normalise_flags,
        refuse_mixed_precision_without_gpu,
        resolve_resume,
    )
    from .reporting import metrics_table, write_metrics

    argv, source = expand_config(normalise_flags(argv))
    refuse_mixed_precision_without_gpu(argv, source)
    model_args, data_args, training_args = parse_arguments(argv)
    check_references(model_args, data_args)
    training_args.resume_from_checkpoint = resolve_resume(
        training_args.resume_from_checkpoint, training_args.output_dir
    )
    result = run_training(model_args, data_args, training_args)
    if training_args.should_save:
        path = write_metrics(f"{training_args.output_dir}/test_metrics.json", result.metrics)
        print(metrics_table({model_args.model_family: result.metrics}))
        print(f"model saved to {training_args.output_dir}; metrics in {path}")
    return 0
