"""Plots of the structure study: training-loss curves per task, and K x alpha accuracy per task."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .reporting import save_figure
from .structure_study import ALPHAS, K_VALUES, StudyRun, group_runs, kalpha_name


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing mean over ``window`` steps: ``[steps]`` -> ``[steps - window + 1]``."""
    values = np.asarray(values, dtype=float)
    if len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def loss_curves_png(
    runs: Sequence[StudyRun], names: Sequence[str], tasks: Sequence[str], path: str | Path, order: str = "bfs"
) -> Path:
    """One panel per task: each cell's training loss (mean over seeds, 20-step trailing mean), min-max band."""
    plt = _pyplot()
    groups = group_runs(runs)
    figure, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.8), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        for name in names:
            found = groups.get((task, name, order))
            if not found:
                continue
            curves = np.stack([smooth(run.losses, 20) for run in found])
            steps = np.arange(curves.shape[1]) + 20
            (line,) = axis.plot(steps, curves.mean(axis=0), label=name, linewidth=1.2)
            axis.fill_between(
                steps, curves.min(axis=0), curves.max(axis=0), color=line.get_color(), alpha=0.15
            )
        axis.set_title(f"{task} ({order} order)")
        axis.set_xlabel("step")
        axis.set_ylabel("training loss")
        axis.set_ylim(0, 1.0)
    axes[0][-1].legend(fontsize=7)
    return save_figure(figure, path, dpi=110)


def kalpha_png(runs: Sequence[StudyRun], tasks: Sequence[str], path: str | Path, order: str = "bfs") -> Path:
    """One panel per task: accuracy against K, one line per alpha, error bars = sample std over seeds."""
    plt = _pyplot()
    groups = group_runs(runs)
    figure, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.6), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        for alpha in ALPHAS:
            means, stds, ks = [], [], []
            for steps in K_VALUES:
                found = groups.get((task, kalpha_name(steps, 0.1 if steps == 0 else alpha), order))
                if found is None and steps == 2 and alpha == 0.1:
                    found = groups.get((task, "hop_diffused", order))
                if not found:
                    continue
                values = np.array([run.accuracy for run in found])
                ks.append(steps)
                means.append(values.mean())
                stds.append(values.std(ddof=1) if len(values) > 1 else 0.0)
            if ks:
                axis.errorbar(ks, means, yerr=stds, marker="o", capsize=3, label=f"alpha {alpha:g}")
        axis.set_title(f"{task}: Hop-Diffused, K x alpha")
        axis.set_xlabel("K (diffusion steps)")
        axis.set_ylabel("test accuracy")
        axis.set_xticks(K_VALUES)
    axes[0][-1].legend(fontsize=8)
    return save_figure(figure, path, dpi=110)
