"""The structure study, second round (issue 30): position controls, the relational task, K x alpha.

    python benchmarks/structure_study.py [--parts positions,kalpha] [--seeds 0,1,2,3,4] [--steps 400]
        [--workers 2] [--json runs.json] [--plots benchmarks]

Every variant of ``hf_graph4mm.training.variants.VARIANTS`` on the three generated tasks
(far_colour, near_majority, linked_colour; rules in ``hf_graph4mm/testing/synthetic.py``) in the
processor's BFS slot order and with every example's slots shuffled; Hop-Diffused over the K x alpha
grid in BFS order. Prints the tables (accuracy mean ± sample std over seeds; in brackets the mean
paired difference to Hop-Diffused and the two-sided paired t-test's p over the same seeds) and writes
the loss-curve and K x alpha plots. Runs and setup: ``hf_graph4mm/training/structure_study.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    from hf_graph4mm.training import structure_study as study

    defaults = study.study_budget()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts", default="positions,kalpha", help="positions (every variant, both orders), kalpha"
    )
    parser.add_argument("--tasks", default=",".join(study.STUDY_TASKS))
    parser.add_argument("--variants", default=",".join(study.STUDY_VARIANTS))
    parser.add_argument("--seeds", default="0,1,2,3,4", help="model seeds (initialisation and data order)")
    parser.add_argument("--data_seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument(
        "--task_steps",
        default=",".join(f"{task}={steps}" for task, steps in study.TASK_STEPS.items()),
        help="per-task step budgets overriding --steps, e.g. near_majority=450 ('' for none)",
    )
    parser.add_argument("--batch_size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning_rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--num_train", type=int, default=defaults.num_train)
    parser.add_argument("--num_test", type=int, default=defaults.num_test)
    parser.add_argument("--workers", type=int, default=2, help="processes, one torch thread each")
    parser.add_argument(
        "--cells_per_job", type=int, default=None, help="split a (task, seed)'s cells into jobs"
    )
    parser.add_argument("--json", default=None, help="write every run (accuracy, losses, seconds) here")
    parser.add_argument(
        "--plots", default=None, help="folder for structure_loss_curves.png / structure_kalpha.png"
    )
    parser.add_argument(
        "--reference", default="hop_diffused", help="the variant each row is paired-tested against"
    )
    parser.add_argument("--plot_tag", default="", help="appended to the plots' file names (e.g. _long)")
    parser.add_argument(
        "--from_json",
        default=None,
        help="comma-separated --json files: print tables and plots from them, no runs",
    )
    args = parser.parse_args(argv)
    if args.from_json:
        return report_saved(args)

    budget = study.study_budget(
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        num_train=args.num_train,
        num_test=args.num_test,
    )
    tasks, seeds = args.tasks.split(","), [int(seed) for seed in args.seeds.split(",")]
    parts = args.parts.split(",")
    variants = args.variants.split(",")
    cells = []
    if "positions" in parts:  # order-invariant variants train once (study.order_invariant_runs)
        cells += [(name, "bfs") for name in variants]
        cells += [(name, "shuffled") for name in variants if name in study.ORDER_READERS]
    if "kalpha" in parts:
        cells += [(name, "bfs") for name in study.kalpha_cells()]
    started = time.perf_counter()
    print(
        f"{len(cells)} cells x {len(tasks)} tasks x {len(seeds)} seeds; {budget.steps} steps ({args.task_steps}) x batch "
        f"{budget.batch_size}, lr {budget.learning_rate}, {budget.num_train} train / {budget.num_test} test "
        f"graphs; {args.workers} workers x 1 thread; loadavg {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    task_steps = {
        key: int(value) for key, value in (item.split("=") for item in args.task_steps.split(",") if item)
    }
    jobs = study.plan_jobs(tasks, cells, seeds, budget, args.data_seed, task_steps, args.cells_per_job)
    partial = Path(args.json + ".partial.jsonl") if args.json else None
    if partial is not None:
        partial.write_text("")

    def save(finished):  # every finished job at once: a stopped study keeps what it ran
        if partial is not None:
            with partial.open("a") as file:
                file.writelines(json.dumps(asdict(run)) + "\n" for run in finished)

    runs = study.run_cells(jobs, args.workers, on_done=save)
    runs += study.order_invariant_runs(runs)
    wall = time.perf_counter() - started
    print(
        f"\nwall {wall:.0f} s ({wall / 60:.1f} min), loadavg {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n"
    )
    if "positions" in parts:
        for task in tasks:
            print(
                f"{task}: accuracy, both slot orders ({len(seeds)} seeds; * = BFS-trained model, shuffled test)\n"
            )
            print(study.positions_table(runs, task, variants, args.reference) + "\n")
    if "kalpha" in parts:
        for task in tasks:
            print(f"{task}: Hop-Diffused accuracy, K x alpha (BFS order, {len(seeds)} seeds)\n")
            print(study.kalpha_table(runs, task) + "\n")
    if args.plots:
        write_plots(args, runs, variants, tasks, parts)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"budget": vars(budget), "wall_s": wall, "runs": [asdict(run) for run in runs]})
        )
    return 0


def write_plots(args, runs, variants, tasks, parts) -> None:
    """The loss curves (``positions``) and the K x alpha panels (``kalpha``: the tasks with grid runs) into
    ``--plots``, named with ``--plot_tag``."""
    from hf_graph4mm.training.study_plots import kalpha_png, loss_curves_png

    folder = Path(args.plots)
    if "positions" in parts:
        print(
            "loss curves:",
            loss_curves_png(runs, variants, tasks, folder / f"structure_loss_curves{args.plot_tag}.png"),
        )
    if "kalpha" in parts:
        kalpha_tasks = [
            task for task in tasks if any(run.name.startswith("K") and run.task == task for run in runs)
        ]
        print("K x alpha:", kalpha_png(runs, kalpha_tasks, folder / f"structure_kalpha{args.plot_tag}.png"))


def report_saved(args) -> int:
    """Tables and plots of saved runs (several --json files merged), as the run printed them."""
    from hf_graph4mm.training import structure_study as study

    runs, parts = [], set()
    for name in args.from_json.split(","):
        if name.endswith(".jsonl"):  # a --json run's .partial.jsonl: the jobs it finished
            lines = Path(name).read_text().splitlines()
            saved = {"runs": [json.loads(line) for line in lines if line.strip()]}
        else:
            saved = json.loads(Path(name).read_text())
        loaded = [study.StudyRun(**run) for run in saved["runs"]]
        parts.add("kalpha" if all(run.name.startswith("K") for run in loaded) else "positions")
        wall = f"wall {saved['wall_s']:.0f} s" if "wall_s" in saved else "partial (the jobs finished so far)"
        print(f"{name}: {len(loaded)} runs, budget {saved.get('budget', '?')}, {wall}")
        runs += loaded
    runs = [run for run in runs if not run.derived]  # derived again below, also for partial files
    runs += study.order_invariant_runs(runs)
    # --parts kalpha: the grid alone (its K = 2, alpha = 0.1 cell from the positions runs)
    parts &= set(args.parts.split(","))
    tasks = [task for task in study.STUDY_TASKS if any(run.task == task for run in runs)]
    variants = [name for name in args.variants.split(",") if any(run.name == name for run in runs)]
    seeds = sorted({run.seed for run in runs})
    if "positions" in parts:
        for task in tasks:
            print(
                f"\n{task}: accuracy, both slot orders ({len(seeds)} seeds; * = BFS-trained model, shuffled test)\n"
            )
            print(study.positions_table(runs, task, variants, args.reference))
    if "kalpha" in parts:
        for task in sorted(
            {run.task for run in runs if run.name.startswith("K")}, key=study.STUDY_TASKS.index
        ):
            print(f"\n{task}: Hop-Diffused accuracy, K x alpha (BFS order)\n")
            print(study.kalpha_table(runs, task))
    if args.plots:
        write_plots(args, runs, variants, tasks, parts)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
