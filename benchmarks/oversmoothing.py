"""The paper's over-smoothing claim: Dirichlet energy after one Hop-Diffused layer (K = k) vs k stacked GAT / GCN layers.

    python benchmarks/oversmoothing.py [--nodes 16,64,256] [--degrees 3,10] [--seeds 10] [--plot FILE]

Random graphs (Erdos-Renyi at the given mean degree, plus a ring for connectivity) with Gaussian
node features (width 32); every layer at random initialisation; energies normalised by ||X||^2.
Prints, per graph size and density, mean ± sample std over the seeds for k = 1..8, and in how many
seeds Hop-Diffused's diffusion keeps more energy than the GAT stack. Methods and references:
``hf_graph4mm/modeling/graph4mm/oversmoothing.py`` (PyTorch Geometric's GATConv and GCNConv).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LABELS = {
    "input": "input X",
    "hop_diffused": "Hop-Diffused calA X (K=k)",
    "hop_diffused_layer": "Hop-Diffused layer X + calA X",
    "attention_power": "A^k X (same A, no teleport)",
    "gat": "k x GATConv",
    "gcn": "k x GCNConv",
}


def table(rows, depths) -> str:
    from hf_graph4mm.modeling.graph4mm.oversmoothing import METHODS

    header = ["k", *(LABELS[m] for m in METHODS), "seeds calA X > GAT"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for depth in depths:
        found = [row for row in rows if row.depth == depth]
        cells = [str(depth)]
        for method in METHODS:
            values = np.array([row.energies[method] for row in found])
            cells.append(f"{values.mean():.3f} ± {values.std(ddof=1):.3f}")
        wins = sum(row.energies["hop_diffused"] > row.energies["gat"] for row in found)
        cells.append(f"{wins}/{len(found)}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_table(groups, depths) -> str:
    """One row per (size, density, k in ``depths``): each method's mean energy, as a share of the input's."""
    from hf_graph4mm.modeling.graph4mm.oversmoothing import METHODS

    shown = [method for method in METHODS if method != "input"]
    header = [
        "N",
        "mean degree",
        "k",
        "input X",
        *(LABELS[m] + " / input" for m in shown),
        "seeds calA X > GAT",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (nodes, degree), rows in groups.items():
        for depth in depths:
            found = [row for row in rows if row.depth == depth]
            inputs = np.array([row.energies["input"] for row in found])
            cells = [str(nodes), f"{degree:g}", str(depth), f"{inputs.mean():.2f}"]
            for method in shown:
                ratios = np.array([row.energies[method] for row in found]) / inputs
                cells.append(f"{ratios.mean():.2g} ± {ratios.std(ddof=1):.1g}")
            wins = sum(row.energies["hop_diffused"] > row.energies["gat"] for row in found)
            cells.append(f"{wins}/{len(found)}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(groups, depths, path) -> Path:
    """A panel per (size, density): mean energy against k, band = min..max over seeds, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hf_graph4mm.modeling.graph4mm.oversmoothing import METHODS

    sizes = sorted({nodes for nodes, _ in groups})
    degrees = sorted({degree for _, degree in groups})
    figure, axes = plt.subplots(
        len(degrees), len(sizes), figsize=(3.8 * len(sizes), 3.1 * len(degrees)), squeeze=False, sharey=True
    )
    for (nodes, degree), rows in groups.items():
        axis = axes[degrees.index(degree)][sizes.index(nodes)]
        for method in METHODS:
            values = np.array([[r.energies[method] for r in rows if r.depth == d] for d in depths])
            (line,) = axis.plot(
                list(depths), values.mean(axis=1), marker="o", markersize=3, label=LABELS[method]
            )
            axis.fill_between(
                list(depths), values.min(axis=1), values.max(axis=1), color=line.get_color(), alpha=0.15
            )
        axis.set_yscale("log")
        axis.set_title(f"N={nodes}, mean degree {degree:g}", fontsize=9)
        axis.set_xlabel("k (layers; K for Hop-Diffused)", fontsize=8)
    for row in axes:
        row[0].set_ylabel("Dirichlet energy / ||X||^2", fontsize=8)
    axes[-1][-1].legend(fontsize=6, loc="lower left")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="16,64,256", help="graph sizes")
    parser.add_argument("--degrees", default="3,10", help="mean degrees (densities)")
    parser.add_argument(
        "--seeds", type=int, default=10, help="graphs (and layer initialisations) per size x density"
    )
    parser.add_argument("--max_depth", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=0.1, help="Hop-Diffused teleport weight")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--plot", default=None, help="write the energy-vs-k plot (PNG) here")
    parser.add_argument("--summary_depths", default="2,4,8", help="k values of the closing summary table")
    args = parser.parse_args(argv)

    import torch

    from hf_graph4mm.modeling.graph4mm.oversmoothing import measure

    torch.set_num_threads(1)
    started = time.perf_counter()
    depths = range(1, args.max_depth + 1)
    groups = {}
    for nodes in (int(n) for n in args.nodes.split(",")):
        for degree in (float(d) for d in args.degrees.split(",")):
            rows = []
            for seed in range(args.seeds):
                rows += measure(nodes, degree, seed, depths, width=args.width, alpha=args.alpha)
            groups[(nodes, degree)] = rows
            print(
                f"\nN = {nodes}, mean degree {degree:g}, {args.seeds} seeds, alpha {args.alpha:g}, width {args.width}\n"
            )
            print(table(rows, depths))
    summary_depths = [int(k) for k in args.summary_depths.split(",") if k]
    print("\nSummary: mean over seeds of each method's energy divided by the input's (± sample std)\n")
    print(summary_table(groups, summary_depths))
    print(f"\n{time.perf_counter() - started:.0f} s, 1 thread")
    if args.plot:
        print("plot:", plot(groups, depths, args.plot))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
