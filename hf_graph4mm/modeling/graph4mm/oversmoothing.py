"""The paper's over-smoothing claim, measured: Dirichlet energy after one Hop-Diffused layer vs k stacked layers.

Graph4MM argues that one Hop-Diffused Attention layer, which reaches K hops through the series
``calA = sum_{i=0..K} theta_i A^i``, keeps a higher Dirichlet energy (its nodes stay more distinct)
than k stacked graph-attention layers reaching as far. Here, on seeded random graphs:

- ``hop_diffused``: our :class:`~.structure.HopDiffusedAttention` at random initialisation, the
  diffusion alone (``calA H``, :meth:`diffuse`) and the layer's output (``H + calA H``), K = k;
- ``attention_power``: ``A^k H``, the last term of the series alone (the same layer's attention
  matrix applied k times: k stacked weight-free attention layers, no teleport terms);
- ``gat``: k stacked ``torch_geometric.nn.GATConv`` layers (one head, self-loops, ELU between
  layers as in the GAT paper), each with its own random initialisation;
- ``gcn``: k stacked ``torch_geometric.nn.GCNConv`` layers (ReLU between layers, as in Kipf & Welling).

Energy: :func:`~.diagnostics.dirichlet_energy`, ``sum_{(i,j) in E} ||x_i - x_j||^2 / ||X||_F^2``
(scale-free: a layer's weight scale does not count; 0 = every connected node the same vector).
PyTorch Geometric is imported only here, when a measurement runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .diagnostics import dirichlet_energy

METHODS = ("input", "hop_diffused", "hop_diffused_layer", "attention_power", "gat", "gcn")


def random_graph(num_nodes: int, mean_degree: float, generator: torch.Generator) -> torch.Tensor:
    """``[N, N]`` bool: an Erdos-Renyi graph (edge probability ``mean_degree / (N - 1)``), undirected,
    plus a ring through every node (so it is connected) and self-loops."""
    probability = min(1.0, mean_degree / max(num_nodes - 1, 1))
    upper = torch.rand(num_nodes, num_nodes, generator=generator).triu(1) < probability
    upper = upper & torch.ones(num_nodes, num_nodes, dtype=torch.bool).triu(1)
    ring = torch.eye(num_nodes, dtype=torch.bool).roll(1, dims=1)
    adjacency = upper | upper.T | ring | ring.T
    return adjacency | torch.eye(num_nodes, dtype=torch.bool)


def edge_index_of(adjacency: torch.Tensor) -> torch.Tensor:
    """``[2, E]``: the edges of ``adjacency`` without self-loops (PyG layers add their own)."""
    off_diagonal = adjacency & ~torch.eye(adjacency.shape[0], dtype=torch.bool)
    return off_diagonal.nonzero().T.contiguous()


def stacked_gnn(kind: str, width: int, depth: int) -> torch.nn.ModuleList:
    """``depth`` PyG layers of ``kind`` ("gat" or "gcn"), ``width`` -> ``width``, freshly initialised."""
    from torch_geometric.nn import GATConv, GCNConv

    if kind == "gat":
        return torch.nn.ModuleList(GATConv(width, width, heads=1, add_self_loops=True) for _ in range(depth))
    if kind == "gcn":
        return torch.nn.ModuleList(GCNConv(width, width, add_self_loops=True) for _ in range(depth))
    raise ValueError(f"kind must be 'gat' or 'gcn', got {kind!r}")


def run_stacked(layers: torch.nn.ModuleList, features: torch.Tensor, edge_index: torch.Tensor, kind: str):
    """``[N, d]`` -> the outputs after each layer, ``[depth]`` of ``[N, d]`` (ELU for GAT / ReLU for GCN between)."""
    activation = torch.nn.functional.elu if kind == "gat" else torch.relu
    outputs, hidden = [], features
    for index, layer in enumerate(layers):
        hidden = layer(hidden, edge_index)
        outputs.append(hidden)
        if index < len(layers) - 1:
            hidden = activation(hidden)
    return outputs


def hop_diffused_outputs(features: torch.Tensor, adjacency: torch.Tensor, steps: int, alpha: float):
    """``(calA H, H + calA H, A^K H)`` of one randomly initialised Hop-Diffused layer (one head), each ``[N, d]``."""
    from ...graph_batch import SubgraphInputs
    from ...kernels import masked_attention_probs
    from .configuration_graph4mm import Graph4MMConfig
    from .structure import HopDiffusedAttention

    width = features.shape[-1]
    config = Graph4MMConfig(
        qformer_config={"hidden_size": width, "num_attention_heads": 1},
        diffusion_alpha=alpha,
        diffusion_steps=steps,
    )
    module = HopDiffusedAttention(config).to(features.dtype)
    subgraph = SubgraphInputs("image", adjacency[None].any(-1), adjacency[None])
    diffused = module.diffuse(features[None], subgraph)[0] * module.weight_scale
    probs = masked_attention_probs(
        module.query(features)[None, None],
        module.key(features)[None, None],
        adjacency[None, None],
        width**-0.5,
    )[0, 0]
    return diffused, module(features[None], subgraph)[0], torch.linalg.matrix_power(probs, steps) @ features


@dataclass
class EnergyRow:
    """One graph (size, density, seed) at one depth k: each method's normalised Dirichlet energy."""

    nodes: int
    mean_degree: float
    seed: int
    depth: int
    energies: dict[str, float]


@torch.no_grad()
def measure(
    nodes: int, mean_degree: float, seed: int, depths=range(1, 9), width: int = 32, alpha: float = 0.1
) -> list[EnergyRow]:
    """Every method's energy for k in ``depths`` on one seeded graph with Gaussian features ``[nodes, width]``."""
    generator = torch.Generator().manual_seed(seed)
    adjacency = random_graph(nodes, mean_degree, generator)
    features = torch.randn(nodes, width, generator=generator)
    edge_index = edge_index_of(adjacency)
    torch.manual_seed(seed)  # the layers' initialisation
    stacks = {
        kind: run_stacked(stacked_gnn(kind, width, max(depths)), features, edge_index, kind)
        for kind in ("gat", "gcn")
    }
    rows = []
    for depth in depths:
        torch.manual_seed(seed + 7919 * depth)
        diffused, layer, power = hop_diffused_outputs(features, adjacency, depth, alpha)
        outputs = {
            "input": features,
            "hop_diffused": diffused,
            "hop_diffused_layer": layer,
            "attention_power": power,
        }
        outputs.update({kind: stacks[kind][depth - 1] for kind in ("gat", "gcn")})
        energies = {name: float(dirichlet_energy(value, adjacency)) for name, value in outputs.items()}
        rows.append(EnergyRow(nodes, mean_degree, seed, depth, energies))
    return rows
