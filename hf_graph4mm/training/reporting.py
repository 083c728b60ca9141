"""Run artefacts: metrics JSON, a printed metrics table and a loss-curve PNG."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path


def metrics_table(metrics: Mapping[str, Mapping[str, float]]) -> str:
    """``{run: {metric: value}}`` as an aligned text table (rows = runs)."""
    names = sorted({name for values in metrics.values() for name in values})
    header = ["run", *names]
    rows = [
        [run, *(f"{values[name]:.4f}" if name in values else "-" for name in names)]
        for run, values in metrics.items()
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def write_metrics(path: str | Path, metrics: Mapping) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return path


def loss_curve_png(histories: Mapping[str, list[dict]], path: str | Path) -> Path:
    """Plot the training (and evaluation) loss of each run's ``trainer.state.log_history``."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers / CI
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(histories), figsize=(5 * len(histories), 3.5), squeeze=False)
    for axis, (run, history) in zip(axes[0], histories.items()):
        train = [(entry["step"], entry["loss"]) for entry in history if "loss" in entry]
        evaluation = [(entry["step"], entry["eval_loss"]) for entry in history if "eval_loss" in entry]
        if train:
            axis.plot(*zip(*train), label="train loss")
        if evaluation:
            axis.plot(*zip(*evaluation), marker="o", label="eval loss")
        axis.set_title(run)
        axis.set_xlabel("step")
        axis.set_ylabel("loss")
        axis.legend()
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
