"""How every benchmark here times work: one step of a run, and round-robin rounds over several runs.

    time_round_robin({"eager": (run, inputs, True), "sdpa": (...)}, "cpu", repeats=5)

Kept apart from the scripts so that each (and ``machine_state``) imports the same timer.
"""

from __future__ import annotations

import statistics
import time

import torch


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def step(run, inputs, needs_grad):
    """``run()``, then, when ``needs_grad``, its backward against ones and the inputs' gradients cleared."""
    output = run()
    if needs_grad:
        output.backward(torch.ones_like(output))
        for tensor in inputs:
            tensor.grad = None
    return output


def time_round_robin(
    runs: dict, device: str, repeats: int, statistic: str = "min", warmups: int = 2, clock=None
) -> dict:
    """``{name: seconds}`` for ``runs = {name: (run, inputs, needs_grad)}``: every run once per round,
    ``repeats`` rounds after ``warmups`` warm-up steps each.

    Interleaving puts a drift of the machine (other jobs, the allocator's state) on every run alike;
    timing all of one run's repeats before the next run's would put a drift on one run only.
    ``clock`` defaults to ``time.perf_counter`` (wall seconds); ``time.process_time`` counts this process's CPU seconds instead of wall seconds: with one
    thread it leaves out the time other jobs hold the core (with several it adds their busy-waits).
    """
    clock = clock or time.perf_counter
    for run, inputs, needs_grad in runs.values():
        for _ in range(warmups):
            step(run, inputs, needs_grad)
    synchronize(device)
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (run, inputs, needs_grad) in runs.items():
            start = clock()
            step(run, inputs, needs_grad)
            synchronize(device)
            times[name].append(clock() - start)
    pick = min if statistic == "min" else statistics.median
    return {name: pick(values) for name, values in times.items()}


if __name__ == "__main__":  # a module, not a benchmark: --help says so, and so does a plain run
    import argparse

    argparse.ArgumentParser(
        description=__doc__,
        epilog="A module imported by the benchmark scripts; it runs nothing itself.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args()
    print("benchmarks/timing.py is a module imported by the benchmark scripts; it runs nothing itself")
