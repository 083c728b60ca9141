"""The over-smoothing measurement: its random graphs, its PyG stacks against dense formulas, and the claim's direction."""

import numpy as np
import pytest
import torch
from scipy.sparse.csgraph import connected_components

from hf_graph4mm.modeling.graph4mm.diagnostics import dirichlet_energy
from hf_graph4mm.modeling.graph4mm.oversmoothing import (
    edge_index_of,
    measure,
    random_graph,
    run_stacked,
    stacked_gnn,
)

pytest.importorskip("torch_geometric")


@pytest.mark.parametrize("nodes,degree", [(16, 3.0), (64, 10.0)])
def test_random_graphs_are_undirected_connected_with_self_loops_near_the_mean_degree(nodes, degree):
    degrees = []
    for seed in range(5):
        adjacency = random_graph(nodes, degree, torch.Generator().manual_seed(seed))
        assert torch.equal(adjacency, adjacency.T) and adjacency.diagonal().all()
        assert connected_components(adjacency.numpy(), directed=False)[0] == 1
        degrees.append((adjacency.sum() - nodes).item() / nodes)
        edges = edge_index_of(adjacency)
        assert (edges[0] != edges[1]).all() and edges.shape[1] == adjacency.sum() - nodes
    assert degree <= np.mean(degrees) <= degree + 2.5  # the ring adds up to 2


def test_gcn_stack_is_the_normalised_propagation_written_out():
    """One GCNConv layer = D^-1/2 (A + I) D^-1/2 X W^T + b, with D the degrees of A + I (Kipf & Welling)."""
    torch.manual_seed(0)
    adjacency = random_graph(12, 3.0, torch.Generator().manual_seed(1))
    features = torch.randn(12, 8, dtype=torch.float64)
    layers = stacked_gnn("gcn", 8, 2).double()
    outputs = run_stacked(layers, features, edge_index_of(adjacency), "gcn")
    propagation = adjacency.double()
    scale = propagation.sum(-1).rsqrt()
    propagation = scale[:, None] * propagation * scale[None, :]
    first = propagation @ features @ layers[0].lin.weight.T + layers[0].bias
    second = propagation @ torch.relu(first) @ layers[1].lin.weight.T + layers[1].bias
    torch.testing.assert_close(outputs[0], first, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(outputs[1], second, rtol=1e-10, atol=1e-10)


def test_hop_diffusion_keeps_more_energy_than_pyg_gat_stacks_of_the_same_reach():
    """The paper's claim against PyTorch Geometric's GATConv, K = k, on seeded 16- and 64-node graphs."""
    for nodes, degree in ((16, 3.0), (64, 10.0)):
        rows = [row for seed in range(4) for row in measure(nodes, degree, seed, depths=(2, 4))]
        for row in rows:
            assert row.energies["hop_diffused"] > row.energies["gat"], (nodes, degree, row)
    # the energies are the diagnostic's, on the measured features: the input row is the features' own
    generator = torch.Generator().manual_seed(0)
    adjacency, features = random_graph(16, 3.0, generator), torch.randn(16, 32, generator=generator)
    (row,) = measure(16, 3.0, 0, depths=(1,))
    assert row.energies["input"] == pytest.approx(float(dirichlet_energy(features, adjacency)))
