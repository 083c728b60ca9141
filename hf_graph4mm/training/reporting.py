"""Run artefacts: metrics JSON, a printed metrics table, a loss-curve PNG and an ablation bar chart."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path


def metrics_table(metrics: Mapping[str, Mapping[str, float]]) -> str:
    """``{run: {metric: value}}`` as an aligned text table: one row per metric, one column per run."""
    runs = list(metrics)
    names = sorted(
        {name for values in metrics.values() for name, value in values.items() if _is_number(value)}
    )
    header = ["metric", *runs]
    rows = [[name, *(_cell(metrics[run].get(name)) for run in runs)] for name in names]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(value) -> str:
    return f"{value:.4f}" if _is_number(value) else ""


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
    return save_figure(figure, path)


def save_figure(figure, path: str | Path, dpi: int = 100) -> Path:
    """Lay out, write ``figure`` as a PNG at ``path`` (parents created), close it; returns the path."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return path


def variants_bar_png(
    summary: Mapping[str, Mapping[str, float]], metric: str, path: str | Path, title: str = ""
) -> Path:
    """Bar chart of ``summary[variant][metric]``, one bar per variant.

    Error bars (``{metric}_std``, the sample std over seeds) only on bars averaged over several runs
    (``summary[variant]["runs"] > 1``): a one-seed bar has no spread to show.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    means = [summary[name][metric] for name in names]
    several = [summary[name].get("runs", 1) > 1 for name in names]
    errors = [summary[name].get(f"{metric}_std", 0.0) if many else 0.0 for name, many in zip(names, several)]
    figure, axis = plt.subplots(figsize=(1.4 * len(names) + 2, 3.5))
    axis.bar(range(len(names)), means, yerr=errors if any(several) else None, capsize=4, color="tab:blue")
    runs = sorted({int(summary[name].get("runs", 1)) for name in names})
    axis.set_xlabel(
        f"{'/'.join(map(str, runs))} seed(s) per bar" + ("; error bars: sample std" if any(several) else "")
    )
    axis.set_xticks(range(len(names)), [name.replace("_", "\n") for name in names])
    axis.set_ylabel(metric)
    axis.set_title(title or metric)
    return save_figure(figure, path)
