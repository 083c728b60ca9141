"""The structure ablation: every Graph4MM variant trained alike on a synthetic task, then compared.

Each variant is a ``Graph4MMConfig`` setting (:data:`VARIANTS`); everything else is shared:
the tiny backbones of ``hf_graph4mm/testing/tiny.py`` (the CLIP vision tower stays frozen at its
random initialisation, i.e. a fixed random image encoder, and its outputs are computed once
per run with :class:`VisionFeatureCache`; the random tiny OPT trains, since it knows nothing
to preserve), the seed-determined initialisation of the shared parts, the training examples
and their order, the optimiser and the step budget. Evaluation generates with
``model.generate`` (greedy) on a held-out split and scores with ``hf_graph4mm.metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

# name -> (Graph4MMConfig overrides, row label of the paper-style table)
VARIANTS: dict[str, tuple[dict, str]] = {
    "hop_diffused": (dict(structure="hop_diffused"), "Graph4MM Hop-Diffused"),
    "hop_aware": (dict(structure="hop_aware"), "Graph4MM Hop-Aware"),
    "hop_diffused_aware": (
        dict(structure="hop_diffused_aware"),
        "Hop-Diffused + Hop-Aware (not in the paper)",
    ),
    "no_text_structure": (dict(structure="hop_diffused", text_structure=False), "  w/o text structure"),
    "no_image_structure": (dict(structure="hop_diffused", image_structure=False), "  w/o image structure"),
    "no_structure": (dict(structure="none"), "no structure (Q-Former only)"),
    "mmgl_concat": (dict(fusion="concat"), "MMGL concat (no structure, no Q-Former)"),
}
GENERATION_METRICS = ("bleu4", "rougeL", "cider", "exact")
CLASSIFICATION_METRICS = ("accuracy",)
# enough for the longest answer of each task plus its end token
MAX_NEW_TOKENS = {"far_colour": 32, "near_majority": 8, "linked_colour": 8}
# tasks whose answer is a label (scored by accuracy); the others generate a sentence
CLASSIFICATION_TASKS = ("near_majority", "linked_colour")


@dataclass
class Budget:
    """What every variant gets: data sizes, optimiser steps, learning rate, query tokens per image."""

    num_train: int = 4000
    num_test: int = 256
    steps: int = 600
    batch_size: int = 16
    learning_rate: float = 3e-3
    warmup_steps: int = 20
    num_query_tokens_per_image: int = 2


@dataclass
class RunResult:
    """One (variant, seed) run: test metrics, training losses, wall time (training + evaluation)."""

    variant: str
    seed: int
    metrics: dict[str, float]
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _tokenizer():
    from ..testing import build_tiny_tokenizer

    return build_tiny_tokenizer(model_max_length=256)


def build_model(variant: str, task: str, seed: int, budget: Budget, overrides: dict | None = None):
    """The tiny Graph4MM ``variant`` for ``task``, its parameters drawn after ``torch.manual_seed(seed)``.

    The vision tower and the LM are built (and initialised) before any variant-specific part, so
    they are identical across the variants of one seed. ``overrides``: further ``Graph4MMConfig``
    fields (e.g. ``diffusion_steps``), applied over the variant's.
    """
    from ..modeling.graph4mm import Graph4MMForConditionalGeneration
    from ..testing import TINY_TRAINING_QFORMER, tiny_graph4mm_config
    from ..testing.synthetic import MAX_NODES

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VARIANTS)}")
    max_image_nodes, max_text_nodes = MAX_NODES[task]
    config = tiny_graph4mm_config(
        qformer_config=dict(TINY_TRAINING_QFORMER, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0),
        num_query_tokens_per_image=budget.num_query_tokens_per_image,
        max_image_nodes=max_image_nodes,
        max_text_nodes=max_text_nodes,
        max_hops=2,
        freeze_language_model=False,  # a random tiny LM has nothing to preserve
        **{**VARIANTS[variant][0], **(overrides or {})},
    )
    torch.manual_seed(seed)
    return Graph4MMForConditionalGeneration(config)


def build_processor(task: str, budget: Budget, include_neighbor_text: bool = True):
    """The processor every variant of ``task`` shares: 2-hop neighbourhoods, the neighbours' texts in
    the LM prompt (MMGL-style context) unless ``include_neighbor_text=False``."""
    from ..processing import Graph4MMProcessor
    from ..testing import build_tiny_image_processor
    from ..testing.synthetic import MAX_NODES

    max_image_nodes, max_text_nodes = MAX_NODES[task]
    return Graph4MMProcessor(
        image_processor=build_tiny_image_processor(),
        tokenizer=_tokenizer(),
        num_query_tokens=budget.num_query_tokens_per_image * max_image_nodes,
        num_hops=2,
        max_text_nodes=max_text_nodes,
        max_image_nodes=max_image_nodes,
        max_length=256,
        max_target_length=32,
        max_node_tokens=32,
        include_neighbor_text=include_neighbor_text,
    )


@dataclass
class PreparedTask:
    """A task's splits, processed once for every variant and seed."""

    task: str
    splits: dict
    processor: object
    train_rows: list[dict]
    test_rows: list[dict]

    @classmethod
    def build(cls, task: str, budget: Budget, data_seed: int = 0) -> PreparedTask:
        from ..testing.synthetic import generate_splits

        splits = generate_splits(task, budget.num_train, budget.num_test, seed=data_seed)
        processor = build_processor(task, budget)
        return cls(
            task,
            splits,
            processor,
            process_examples(processor, splits["train"], with_labels=True),
            process_examples(processor, splits["test"], with_labels=False),
        )

    def images(self):
        examples = [*self.splits["train"], *self.splits["test"]]
        return (image for example in examples for image in example.graph.images if image is not None)


def process_examples(processor, examples, with_labels: bool) -> list[dict]:
    """Examples tokenised once (images named by cache key, not decoded)."""
    return [
        processor.process_example(
            example.graph,
            example.target,
            prompt=example.prompt,
            target_text=example.answer if with_labels else None,
            load_images=False,
        )
        for example in examples
    ]


def _linear_schedule(warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def train_steps(model, collator, rows: Sequence[dict], budget: Budget, seed: int) -> list[float]:
    """``budget.steps`` AdamW steps over ``rows`` in a seed-fixed shuffled order; the loss of each step."""
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=budget.learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _linear_schedule(budget.warmup_steps, budget.steps)
    )
    order_rng = np.random.default_rng(seed)
    per_epoch = max(1, len(rows) // budget.batch_size)
    losses: list[float] = []
    model.train()
    for step in range(budget.steps):
        if step % per_epoch == 0:
            order = order_rng.permutation(len(rows))
        start = (step % per_epoch) * budget.batch_size
        batch = collator([rows[i] for i in order[start : start + budget.batch_size]])
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    return losses


@torch.no_grad()
def generate_answers(model, collator, rows: Sequence[dict], max_new_tokens: int, batch_size: int = 64):
    """Greedy ``model.generate`` on every row; the decoded, stripped answers."""
    model.eval()
    tokenizer = collator.processor.tokenizer
    answers: list[str] = []
    for start in range(0, len(rows), batch_size):
        batch = collator(rows[start : start + batch_size])
        new_tokens = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )[:, batch["input_ids"].shape[1] :]  # generate() returns the prompt first
        answers.extend(text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
    return answers


def score(task: str, predictions: list[str], examples) -> dict[str, float]:
    """Generation: BLEU-4, ROUGE-L, CIDEr-D and exact match; classification: accuracy."""
    from ..metrics import compute_generation_metrics, zero_shot_accuracy

    references = [example.answer for example in examples]
    accuracy = zero_shot_accuracy(predictions, references)["accuracy"]
    if task in CLASSIFICATION_TASKS:
        return {"accuracy": accuracy}
    return {**compute_generation_metrics(predictions, references), "exact": accuracy}


def run_variant(
    variant: str, prepared: PreparedTask, seed: int, budget: Budget, vision_cache=None
) -> RunResult:
    """Build, train and evaluate one variant with one seed.

    ``vision_cache``: the frozen vision tower's outputs for this seed (built here when not given;
    the tower is the same for every variant of a seed, so :func:`run_ablation` builds it once).
    """
    from ..processing import Graph4MMCollator
    from .vision_cache import VisionFeatureCache

    started = time.perf_counter()
    model = build_model(variant, prepared.task, seed, budget)
    processor = prepared.processor
    if vision_cache is None:
        vision_cache = VisionFeatureCache.build(model, processor, prepared.images(), batch_size=256)
    collator = Graph4MMCollator(processor, vision_cache=vision_cache)
    losses = train_steps(model, collator, prepared.train_rows, budget, seed)
    generation_collator = Graph4MMCollator(
        processor, padding_side="left", with_labels=False, vision_cache=vision_cache
    )
    predictions = generate_answers(
        model, generation_collator, prepared.test_rows, MAX_NEW_TOKENS[prepared.task]
    )
    metrics = score(prepared.task, predictions, prepared.splits["test"])
    return RunResult(variant, seed, metrics, losses, time.perf_counter() - started)


def run_ablation(
    task: str,
    variants: Iterable[str],
    seeds: Iterable[int],
    budget: Budget,
    data_seed: int = 0,
    log=None,
) -> list[RunResult]:
    """Every variant x seed on one generated train/test split (drawn once from ``data_seed``)."""
    from .vision_cache import VisionFeatureCache

    prepared = PreparedTask.build(task, budget, data_seed)
    variants = list(variants)
    results = []
    for seed in seeds:
        tower = build_model(variants[0], task, seed, budget)
        cache = VisionFeatureCache.build(tower, prepared.processor, prepared.images(), batch_size=256)
        for variant in variants:
            result = run_variant(variant, prepared, seed, budget, vision_cache=cache)
            if log is not None:
                shown = " ".join(f"{k}={v:.4f}" for k, v in result.metrics.items())
                log(
                    f"  {task} {variant} seed {seed}: {shown} "
                    f"(final loss {result.losses[-1]:.3f}, {result.seconds:.1f} s)"
                )
            results.append(result)
    return results


def summarize(results: Sequence[RunResult]) -> dict[str, dict[str, float]]:
    """``{variant: {metric: mean, metric_std: sample std, seconds: mean, runs: n}}``."""
    summary: dict[str, dict[str, float]] = {}
    for variant in dict.fromkeys(result.variant for result in results):
        runs = [result for result in results if result.variant == variant]
        row: dict[str, float] = {"runs": len(runs), "seconds": float(np.mean([r.seconds for r in runs]))}
        for name in runs[0].metrics:
            values = np.array([r.metrics[name] for r in runs], dtype=float)
            row[name] = float(values.mean())
            row[f"{name}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        row["final_loss"] = float(np.mean([np.mean(r.losses[-10:]) for r in runs]))
        summary[variant] = row
    return summary


def format_table(task: str, summary: dict[str, dict[str, float]]) -> str:
    """The paper's table layout: one row per variant, metrics as mean +- sample std over seeds (the mean
    alone for a one-seed row), seconds per run."""
    metrics = CLASSIFICATION_METRICS if task in CLASSIFICATION_TASKS else GENERATION_METRICS
    header = ["method", *metrics, "final loss", "s / run"]
    rows = []
    for variant, row in summary.items():
        cells = [VARIANTS[variant][1]]
        if row["runs"] > 1:
            cells += [f"{row[name]:.4f} ± {row[f'{name}_std']:.4f}" for name in metrics]
        else:  # one seed: no spread to report
            cells += [f"{row[name]:.4f}" for name in metrics]
        cells += [f"{row['final_loss']:.3f}", f"{row['seconds']:.1f}"]
        rows.append(cells)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``hf-graph4mm benchmark-variants`` / ``python benchmarks/variants.py``: print the ablation tables."""
    import argparse

    from ..testing.synthetic import TASKS

    defaults = Budget()
    parser = argparse.ArgumentParser(
        prog="hf-graph4mm benchmark-variants",
        description="Train every Graph4MM structure variant alike on the synthetic tasks; print the tables.",
    )
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, from {TASKS}")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated, from {tuple(VARIANTS)}"
    )
    parser.add_argument("--seeds", default="0,1,2", help="model seeds (initialisation and data order)")
    parser.add_argument("--data_seed", type=int, default=0, help="seed of the generated train/test graphs")
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--batch_size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning_rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--num_train", type=int, default=defaults.num_train)
    parser.add_argument("--num_test", type=int, default=defaults.num_test)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for the whole run")
    parser.add_argument("--json", default=None, help="also write the per-run results and summaries here")
    args = parser.parse_args(argv or [])

    import warnings

    from transformers.utils import logging as hf_logging

    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    warnings.filterwarnings("ignore", message=".*truncated.*")
    budget = Budget(
        num_train=args.num_train,
        num_test=args.num_test,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
    )
    seeds = [int(seed) for seed in args.seeds.split(",")]
    variants = args.variants.split(",")
    output = {"budget": vars(budget), "threads": args.threads, "tasks": {}}
    for task in args.tasks.split(","):
        started = time.perf_counter()
        results = run_ablation(task, variants, seeds, budget, args.data_seed, log=print)
        summary = summarize(results)
        print(
            f"\n{task}: {len(seeds)} seeds, {budget.steps} steps x batch {budget.batch_size}, "
            f"{budget.num_train} train / {budget.num_test} test graphs, "
            f"{time.perf_counter() - started:.0f} s, {args.threads} thread(s)"
        )
        print(format_table(task, summary) + "\n")
        output["tasks"][task] = {"summary": summary, "runs": [vars(result) for result in results]}
    if args.json:
        from .reporting import write_metrics

        write_metrics(args.json, output)
    return 0
