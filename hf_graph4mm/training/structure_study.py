"""The structure study (issue 30): position controls, the relational task, K x alpha, statistics.

Every run is one tiny Graph4MM (the backbones of :mod:`.variants`: a frozen random CLIP, a trained
random OPT) trained on one generated task and scored by greedy ``generate()`` on a held-out split.
What differs from :mod:`.variants` (the first round):

- the answer is the colour name alone and the LM prompt holds only the target's own text
  (``include_neighbor_text=False``, no instruction): the LM sequence carries no node order, so a
  variant can see slot positions only through its own computation (:data:`POSITIONS`);
- every model is scored in the BFS slot order of the processor and with every example's text and
  image slots shuffled (:func:`~.positions.shuffle_node_slots`), ``orders=("bfs", "shuffled")``;
  a variant that reads slot order (:data:`ORDER_READERS`) is also trained on shuffled slots, the
  others' training is the same computation in either order (:func:`order_invariant_runs`);
- scores are accuracy (the normalised colour name matches), mean and sample std over seeds, and
  a two-sided paired t-test against Hop-Diffused over the same seeds (``scipy.stats.ttest_rel``;
  a seed pairs the two runs: same backbones, data and order);
- runs go to ``workers`` processes of one thread each (:func:`run_cells`).

A cell is ``(task, name, order)``; ``name`` is a variant of :data:`.variants.VARIANTS` or a K x alpha
point ``"K{k}_a{alpha}"`` (Hop-Diffused with ``diffusion_steps=k, diffusion_alpha=alpha``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .variants import VARIANTS, Budget

STUDY_TASKS = ("far_colour", "near_majority", "linked_colour")
# The paper's text / image ablations (VARIANTS' no_text_structure, no_image_structure) run on request
# (--variants): in these tasks no text carries the answer, and the first round measured them.
STUDY_VARIANTS = ("hop_diffused", "hop_aware", "hop_diffused_aware", "no_structure", "mmgl_concat")
# Steps where a task needs more than the budget's (near_majority's best variant converges later).
TASK_STEPS = {"near_majority": 450}
ORDERS = ("bfs", "shuffled")
K_VALUES = (0, 1, 2, 3, 4, 6)
ALPHAS = (0.05, 0.1, 0.2, 0.5)
# How each variant can see a node's slot position (the LM prompt holds no node order in this study).
POSITIONS = {
    "hop_diffused": "no",
    "hop_aware": "no (hop given as an embedding)",
    "hop_diffused_aware": "no (hop given as an embedding)",
    "no_text_structure": "no",
    "no_image_structure": "no",
    "no_structure": "no",
    "mmgl_concat": "yes: image slot s = LM positions of its M tokens",
}
# Variants whose computation reads slot order; the others are trained once (see order_invariant_runs).
ORDER_READERS = ("mmgl_concat",)
SHUFFLE_SEED = 1000  # the slot shuffle of the "shuffled" order: a property of the data, fixed
MAX_NEW_TOKENS = 8  # the longest colour name (6 byte-level tokens) and its end token


def study_budget(**changes) -> Budget:
    """The study's budget: 2000 train / 256 test graphs, batch 32, lr 1e-2, 2 query tokens per image."""
    values = dict(num_train=2000, num_test=256, steps=300, batch_size=32, learning_rate=1e-2, warmup_steps=10)
    values.update(changes)
    return Budget(**values)


def kalpha_name(steps: int, alpha: float) -> str:
    return f"K{steps}_a{alpha:g}"


def kalpha_cells() -> list[str]:
    """The K x alpha grid's cells to run, most informative first: K = 0..6 at the default alpha = 0.1,
    then alpha at the paper's K = 2, then the rest of the grid.

    K = 0 runs once (with normalised weights calA = I for every alpha); K = 2, alpha = 0.1 is not
    run again (the Hop-Diffused variant itself).
    """
    names = [kalpha_name(0, 0.1)] + [kalpha_name(k, 0.1) for k in K_VALUES[1:] if k != 2]
    names += [kalpha_name(2, a) for a in ALPHAS if a != 0.1]
    names += [kalpha_name(k, a) for k in K_VALUES[1:] for a in ALPHAS if k != 2 and a != 0.1]
    return names


def cell_config(name: str) -> tuple[str, dict]:
    """``(variant, extra config overrides)`` of a cell name."""
    if name in VARIANTS:
        return name, {}
    if name.startswith("K") and "_a" in name:
        steps, alpha = name[1:].split("_a")
        return "hop_diffused", {"diffusion_steps": int(steps), "diffusion_alpha": float(alpha)}
    raise ValueError(f"unknown study cell {name!r}")


@dataclass
class StudyRun:
    """One (task, cell, training order, seed) run: test accuracy, the training loss of every step, wall seconds."""

    task: str
    name: str
    order: str
    seed: int
    accuracy: float
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    other_accuracy: float | None = None  # the same model on the test split in the other slot order
    derived: bool = False  # an order-invariant variant's shuffled cell, from its BFS run


# -- one worker's state: prepared data and vision caches, kept across the jobs it runs ---------------------
_PREPARED: dict = {}
_CACHES: dict = {}


def prepared_task(task: str, order: str, budget: Budget, data_seed: int):
    """``(processor, train rows in order, {test order: test rows}, test answers, images)`` (memoised).

    The test split comes in both orders: every model is scored on both.
    """
    key = (task, order, budget.num_train, budget.num_test, data_seed)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if key not in _PREPARED:
        from ..testing.synthetic import generate_splits
        from .positions import shuffle_node_slots
        from .variants import build_processor, process_examples

        splits = generate_splits(task, budget.num_train, budget.num_test, seed=data_seed)
        splits = {
            split: [
                dataclasses.replace(example, answer=example.attribute, prompt=None) for example in examples
            ]
            for split, examples in splits.items()
        }
        processor = build_processor(task, budget, include_neighbor_text=False)
        train = process_examples(processor, splits["train"], with_labels=True)
        test = process_examples(processor, splits["test"], with_labels=False)
        if order == "shuffled":
            train = shuffle_node_slots(train, SHUFFLE_SEED + 2 * data_seed)
        tests = {"bfs": test, "shuffled": shuffle_node_slots(test, SHUFFLE_SEED + 2 * data_seed + 1)}
        images = [image for split in splits.values() for e in split for image in e.graph.images if image]
        answers = [example.attribute for example in splits["test"]]
        _PREPARED[key] = (processor, train, tests, answers, images)
    return _PREPARED[key]


def run_cell(task: str, name: str, order: str, seed: int, budget: Budget, data_seed: int = 0) -> StudyRun:
    """Build, train (in ``order``) and score one cell with one seed (a worker's unit of work).

    ``accuracy`` is on the test split in the training order, ``other_accuracy`` in the other order.
    """
    from ..metrics import zero_shot_accuracy
    from ..processing import Graph4MMCollator
    from .variants import build_model, generate_answers, train_steps
    from .vision_cache import VisionFeatureCache

    started = time.perf_counter()
    processor, train, tests, answers, images = prepared_task(task, order, budget, data_seed)
    variant, overrides = cell_config(name)
    model = build_model(variant, task, seed, budget, overrides)
    cache_key = (task, seed, budget.num_train, budget.num_test, data_seed)
    if cache_key not in _CACHES:  # the frozen tower depends on the seed only: one cache per task and seed
        _CACHES.clear()
        _CACHES[cache_key] = VisionFeatureCache.build(model, processor, images, batch_size=256)
    cache = _CACHES[cache_key]
    losses = train_steps(model, Graph4MMCollator(processor, vision_cache=cache), train, budget, seed)
    generation = Graph4MMCollator(processor, padding_side="left", with_labels=False, vision_cache=cache)
    accuracy = {
        test_order: zero_shot_accuracy(generate_answers(model, generation, rows, MAX_NEW_TOKENS), answers)[
            "accuracy"
        ]
        for test_order, rows in tests.items()
    }
    other = next(test_order for test_order in ORDERS if test_order != order)
    return StudyRun(
        task, name, order, seed, accuracy[order], losses, time.perf_counter() - started, accuracy[other]
    )


def order_invariant_runs(runs: Sequence[StudyRun]) -> list[StudyRun]:
    """The shuffled-order runs of the variants that cannot read slot order, from their BFS runs.

    For a variant whose loss is invariant to the slot order (every one but :data:`ORDER_READERS`;
    ``tests/training/test_positions.py`` checks it), training on shuffled slots takes the same steps
    as training on BFS slots up to float rounding, so its shuffled cell is its BFS-trained model
    scored on the shuffled test split (``derived=True``, no second training).
    """
    return [
        dataclasses.replace(run, order="shuffled", accuracy=run.other_accuracy, other_accuracy=run.accuracy,
                            seconds=0.0, derived=True)
        for run in runs
        if run.order == "bfs" and run.name not in ORDER_READERS and run.other_accuracy is not None
    ]  # fmt: skip


def _run_job(job: tuple) -> list[StudyRun]:
    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()
    task, seed, cells, budget, data_seed = job
    return [run_cell(task, name, order, seed, budget, data_seed) for name, order in cells]


def plan_jobs(
    tasks: Iterable[str],
    cells: Sequence[tuple[str, str]],
    seeds: Iterable[int],
    budget: Budget,
    data_seed: int,
    task_steps: dict[str, int] | None = None,
    cells_per_job: int | None = None,
) -> list[tuple]:
    """Jobs of up to ``cells_per_job`` cells (default: all) of one (task, seed); a job's cells share the
    prepared data and the vision cache.

    ``task_steps``: a task's own step budget where it needs another than ``budget.steps``.
    """
    cells = list(cells)
    size = cells_per_job or max(len(cells), 1)
    jobs = []
    for task in tasks:
        task_budget = dataclasses.replace(budget, steps=(task_steps or {}).get(task, budget.steps))
        for start in range(0, len(cells), size):
            jobs += [(task, seed, cells[start : start + size], task_budget, data_seed) for seed in seeds]
    return sorted(jobs, key=lambda job: -job[3].steps)  # longest first: the workers finish together


def run_cells(jobs: Sequence[tuple], workers: int = 2, log=print, on_done=None) -> list[StudyRun]:
    """Every job in ``workers`` spawned processes (one torch thread each), results in job order.

    ``on_done(runs)`` is called with each finished job's runs (e.g. to save them as they come).
    """
    import concurrent.futures
    import multiprocessing

    results: list[list[StudyRun]] = [[] for _ in jobs]

    def finished(index: int, runs: list[StudyRun]) -> None:
        results[index] = runs
        _log_runs(runs, log)
        if on_done is not None:
            on_done(runs)

    if workers <= 1:
        for index, job in enumerate(jobs):
            finished(index, _run_job(job))
        return [run for runs in results for run in runs]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_run_job, job): index for index, job in enumerate(jobs)}
        for future in concurrent.futures.as_completed(futures):
            finished(futures[future], future.result())
    return [run for runs in results for run in runs]


def _log_runs(runs: Sequence[StudyRun], log) -> None:
    if log is None:
        return
    for run in runs:
        final = float(np.mean(run.losses[-20:])) if run.losses else float("nan")
        log(
            f"  {run.task} {run.name} {run.order} seed {run.seed}: accuracy {run.accuracy:.4f} "
            f"(final loss {final:.3f}, {run.seconds:.1f} s)",
            flush=True,
        )


# -- statistics -------------------------------------------------------------------------------------------
def cell_summary(runs: Sequence[StudyRun], reference: Sequence[StudyRun] | None = None) -> dict:
    """Mean, sample std, runs, and (given the reference cell's runs) the paired t-test over shared seeds.

    Returns ``{"mean", "std", "runs", "seconds", "final_loss"}`` plus ``"p"`` (two-sided
    ``scipy.stats.ttest_rel``; NaN when every difference is equal) and ``"diff"`` (mean paired
    difference, this minus the reference) when ``reference`` is given and not the same runs.
    """
    values = np.array([run.accuracy for run in runs], dtype=float)
    summary = {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "runs": len(values),
        "seconds": float(np.mean([run.seconds for run in runs])),
        "final_loss": float(np.mean([np.mean(run.losses[-20:]) for run in runs])),
    }
    if reference is not None and list(reference) != list(runs):
        from scipy.stats import ttest_rel

        theirs = {run.seed: run.accuracy for run in reference}
        seeds = [run.seed for run in runs if run.seed in theirs]
        ours = [run.accuracy for run in runs if run.seed in theirs]
        differences = np.array(ours) - np.array([theirs[seed] for seed in seeds])
        summary["diff"] = float(differences.mean()) if len(differences) else float("nan")
        if len(differences) > 1 and np.ptp(differences) > 0:
            summary["p"] = float(ttest_rel(ours, [theirs[seed] for seed in seeds]).pvalue)
        else:
            summary["p"] = float("nan")
    return summary


def group_runs(runs: Sequence[StudyRun]) -> dict[tuple[str, str, str], list[StudyRun]]:
    """``{(task, name, order): runs sorted by seed}``."""
    groups: dict[tuple[str, str, str], list[StudyRun]] = {}
    for run in runs:
        groups.setdefault((run.task, run.name, run.order), []).append(run)
    return {key: sorted(value, key=lambda run: run.seed) for key, value in groups.items()}


def _cell(summary: dict | None, with_p: bool = True) -> str:
    if summary is None:
        return "—"
    text = f"{summary['mean']:.3f} ± {summary['std']:.3f}"
    if with_p and "p" in summary:
        p = summary["p"]
        text += f" ({summary['diff']:+.3f}, p={p:.2g})" if p == p else f" ({summary['diff']:+.3f}, p=—)"
    return text


def positions_table(
    runs: Sequence[StudyRun],
    task: str,
    names: Sequence[str] = STUDY_VARIANTS,
    reference: str = "hop_diffused",
) -> str:
    """One task: a row per variant; accuracy in both orders (vs ``reference`` in the same order), positions.

    A shuffled cell taken from the BFS-trained model (:func:`order_invariant_runs`) is marked ``*``.
    """
    groups = group_runs(runs)
    header = ["variant", "sees slot positions", "BFS order", "shuffled order", "shuffled − BFS",
              "BFS-trained, shuffled test", "s / run"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in names:
        cells, summaries = [], {}
        for order in ORDERS:
            ours = groups.get((task, name, order))
            theirs = groups.get((task, reference, order))
            summaries[order] = cell_summary(ours, theirs) if ours else None
            marker = "*" if ours and all(run.derived for run in ours) else ""
            cells.append(_cell(summaries[order]) + marker)
        shift_text = "—"
        if all(summaries.values()):
            shift = cell_summary(groups[(task, name, "shuffled")], groups[(task, name, "bfs")])
            shift_text = f"{shift['diff']:+.3f}" + (
                f" (p={shift['p']:.2g})" if shift["p"] == shift["p"] else ""
            )
        bfs_runs = groups.get((task, name, "bfs"), [])
        crossed = [run.other_accuracy for run in bfs_runs if run.other_accuracy is not None]
        crossed_text = f"{np.mean(crossed):.3f} ± {np.std(crossed, ddof=1):.3f}" if len(crossed) > 1 else "—"
        trained = [
            run.seconds for order in ORDERS for run in groups.get((task, name, order), []) if not run.derived
        ]
        row = [VARIANTS[name][1].strip(), POSITIONS[name], *cells, shift_text, crossed_text,
               f"{np.mean(trained):.1f}" if trained else "—"]  # fmt: skip
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def kalpha_table(runs: Sequence[StudyRun], task: str, order: str = "bfs") -> str:
    """One task: rows K, columns alpha, accuracy mean ± std (K = 0 is the same model for every alpha)."""
    groups = group_runs(runs)
    header = ["K \\ alpha", *(f"{alpha:g}" for alpha in ALPHAS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for steps in K_VALUES:
        row = [str(steps)]
        for alpha in ALPHAS:
            found = groups.get((task, kalpha_name(steps, 0.1 if steps == 0 else alpha), order))
            if found is None and steps == 2 and alpha == 0.1:
                found = groups.get((task, "hop_diffused", order))
            row.append(_cell(cell_summary(found), with_p=False) if found else "—")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


__all__ = [
    "ALPHAS",
    "K_VALUES",
    "ORDERS",
    "ORDER_READERS",
    "POSITIONS",
    "STUDY_TASKS",
    "STUDY_VARIANTS",
    "TASK_STEPS",
    "StudyRun",
    "cell_config",
    "cell_summary",
    "kalpha_cells",
    "kalpha_name",
    "kalpha_table",
    "order_invariant_runs",
    "plan_jobs",
    "positions_table",
    "run_cell",
    "run_cells",
    "study_budget",
]
