"""Hop-Diffused Attention (kernel and module) and Hop-Aware embeddings against float64 references."""

from __future__ import annotations

import math

import pytest
import torch

from hf_graph4mm import Graph4MMConfig
from hf_graph4mm.graph_batch import SubgraphInputs
from hf_graph4mm.kernels import hop_diffused_attention, masked_attention_probs
from hf_graph4mm.modeling.graph4mm.diagnostics import dirichlet_energy
from hf_graph4mm.modeling.graph4mm.structure import (
    HopAwareEmbedding,
    HopDiffusedAttention,
    HopDiffusedAwareAttention,
    build_structure_module,
    split_heads,
)

DENSE_BACKENDS = ["eager", "sdpa"]


def hop_module(width, num_heads, alpha, num_steps, normalize_weights=True) -> HopDiffusedAttention:
    config = Graph4MMConfig(
        qformer_config={"hidden_size": width, "num_attention_heads": num_heads},
        diffusion_alpha=alpha,
        diffusion_steps=num_steps,
        diffusion_normalize_weights=normalize_weights,
    )
    return HopDiffusedAttention(config)


def random_graph_batch(batch=2, heads=2, nodes=5, dim=4, padded=(0, 1), seed=0, dtype=torch.float64):
    """q, k, v and a per-sample adjacency with self-loops; the last ``padded[b]`` slots of sample b are padding."""
    generator = torch.Generator().manual_seed(seed)
    query, key, value = (
        torch.randn(batch, heads, nodes, dim, generator=generator, dtype=dtype) for _ in "qkv"
    )
    adjacency = torch.rand(batch, nodes, nodes, generator=generator) < 0.5
    adjacency = adjacency | adjacency.transpose(1, 2) | torch.eye(nodes, dtype=torch.bool)
    for sample, count in enumerate(padded):
        if count:
            adjacency[sample, -count:, :] = False
            adjacency[sample, :, -count:] = False
    return query, key, value, adjacency


def reference_attention_matrix(query, key, adjacency):
    """float64 ``A``: softmax over each row's allowed keys, written out independently of the kernel."""
    scores = (query.double() @ key.double().transpose(-1, -2)) / math.sqrt(query.shape[-1])
    allowed = adjacency[:, None]
    exp = torch.exp(scores - scores.amax(dim=-1, keepdim=True)) * allowed
    return exp / exp.sum(dim=-1, keepdim=True).clamp(min=1e-300)


def reference_diffusion(query, key, value, adjacency, alpha, steps):
    """``sum_i alpha (1-alpha)^i A^i V`` with explicit matrix powers, zero on rows without edges."""
    attention = reference_attention_matrix(query, key, adjacency)
    total = torch.zeros_like(value, dtype=torch.float64)
    for step in range(steps + 1):
        total = (
            total + alpha * (1 - alpha) ** step * torch.linalg.matrix_power(attention, step) @ value.double()
        )
    return total * adjacency.any(dim=-1)[:, None, :, None]


@pytest.mark.parametrize("implementation", DENSE_BACKENDS)
@pytest.mark.parametrize("alpha,steps", [(0.1, 2), (0.5, 3), (0.3, 0)])
def test_kernel_equals_float64_formula(implementation, alpha, steps):
    query, key, value, adjacency = random_graph_batch(seed=steps)
    expected = reference_diffusion(query, key, value, adjacency, alpha, steps)
    got64 = hop_diffused_attention(query, key, value, adjacency, alpha, steps, implementation=implementation)
    torch.testing.assert_close(got64, expected, rtol=1e-10, atol=1e-10)
    got32 = hop_diffused_attention(
        query.float(), key.float(), value.float(), adjacency, alpha, steps, implementation=implementation
    )
    torch.testing.assert_close(got32.double(), expected, rtol=1e-4, atol=1e-5)


def test_kernel_converges_to_personalised_pagerank():
    alpha = 0.3
    query, key, value, adjacency = random_graph_batch(padded=(0, 0), seed=3)
    attention = reference_attention_matrix(query, key, adjacency)
    identity = torch.eye(attention.shape[-1], dtype=torch.float64)
    closed_form = alpha * torch.linalg.solve(identity - (1 - alpha) * attention, value)
    truncated = hop_diffused_attention(query, key, value, adjacency, alpha, num_steps=120)
    torch.testing.assert_close(truncated, closed_form, rtol=1e-10, atol=1e-10)
    # a short truncation is measurably different: the test would notice a kernel that ignored K
    assert (hop_diffused_attention(query, key, value, adjacency, alpha, 2) - closed_form).abs().max() > 1e-3


@pytest.mark.parametrize("implementation", DENSE_BACKENDS)
def test_isolated_rows_are_zero_and_self_loop_only_rows_keep_their_value(implementation):
    query, key, value, adjacency = random_graph_batch(padded=(0, 2), seed=1)
    adjacency[0, 1, :] = False
    adjacency[0, :, 1] = False
    adjacency[0, 1, 1] = True  # node 1 of sample 0: only its self-loop
    output = hop_diffused_attention(query, key, value, adjacency, 0.2, 2, implementation=implementation)
    assert torch.isfinite(output).all()
    assert (output[1, :, -2:] == 0).all()  # padded slots: no allowed entry at all
    theta_sum = sum(0.2 * 0.8**i for i in range(3))
    torch.testing.assert_close(output[0, :, 1], theta_sum * value[0, :, 1])


@pytest.mark.parametrize("implementation", DENSE_BACKENDS)
def test_samples_never_mix(implementation):
    query, key, value, adjacency = random_graph_batch(seed=4)
    before = hop_diffused_attention(query, key, value, adjacency, 0.2, 2, implementation=implementation)
    query2, key2, value2, adjacency2 = (tensor.clone() for tensor in (query, key, value, adjacency))
    query2[1] += 3.0
    value2[1] *= -2.0
    adjacency2[1] = torch.ones_like(adjacency2[1])
    after = hop_diffused_attention(query2, key2, value2, adjacency2, 0.2, 2, implementation=implementation)
    assert torch.equal(before[0], after[0])
    assert not torch.allclose(before[1], after[1])


# 10 node rows at width 8 take the fused q|k projection; 10 rows at width 16 take two separate ones
@pytest.mark.parametrize("width", [8, 16])
@pytest.mark.parametrize("normalize", [True, False])
def test_module_adds_residual_and_renormalised_diffusion(normalize, width):
    torch.manual_seed(0)
    module = hop_module(width, num_heads=2, alpha=0.25, num_steps=2, normalize_weights=normalize).double()
    _, _, _, adjacency = random_graph_batch(nodes=5, padded=(0, 1), seed=2)
    node_mask = adjacency.any(dim=-1)
    # node states arrive zero on padded slots: the model scatters the real nodes' states into them
    states = torch.randn(2, 5, width, dtype=torch.float64, requires_grad=True)
    hidden = states * node_mask[..., None]
    output = module(hidden, SubgraphInputs("text", node_mask, adjacency))

    query = split_heads(hidden @ module.query.weight.T + module.query.bias, 2)
    key = split_heads(hidden @ module.key.weight.T + module.key.bias, 2)
    diffused = reference_diffusion(query, key, split_heads(hidden, 2), adjacency, 0.25, 2)
    diffused = diffused.transpose(1, 2).reshape(2, 5, width)
    if normalize:
        diffused = diffused / (0.25 * (1 + 0.75 + 0.75**2))
    expected = (hidden + diffused) * node_mask[..., None]
    torch.testing.assert_close(output, expected, rtol=1e-10, atol=1e-10)

    # gradients reach both projections and the node states as through the written-out formula
    leaves = [states, module.query.weight, module.query.bias, module.key.weight, module.key.bias]
    cotangent = torch.randn(output.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    got = torch.autograd.grad(
        output, leaves, cotangent, retain_graph=True
    )  # shares the masking with expected
    want = torch.autograd.grad(expected, leaves, cotangent)
    for got_grad, want_grad in zip(got, want):
        torch.testing.assert_close(got_grad, want_grad, rtol=1e-10, atol=1e-10)


def test_hop_aware_adds_one_embedding_per_hop_with_an_unreachable_row():
    torch.manual_seed(0)
    module = HopAwareEmbedding(4, max_hops=2)
    hidden = torch.randn(1, 6, 4)
    hops = torch.tensor([[0, 1, 2, 3, -1, 0]])
    node_mask = torch.tensor([[True, True, True, True, True, False]])
    output = module(hidden, SubgraphInputs("text", node_mask, hops=hops))
    table = module.hop_embeddings.weight
    expected_rows = [0, 1, 2, 3, 3]  # hop 3 > max_hops and -1 both use the "unreachable" row 3
    torch.testing.assert_close(output[0, :5], hidden[0, :5] + table[expected_rows])
    assert (output[0, 5] == 0).all()
    assert table.shape[0] == 4


def test_hop_diffused_aware_adds_hop_embeddings_then_diffuses_float64():
    """structure="hop_diffused_aware": ``H' = H + E[hop]`` (masked), then ``H' + calA' H' / sum theta``, with
    ``calA'`` from ``H'``'s own projections; written out with explicit matrix powers in float64."""
    torch.manual_seed(0)
    width, heads, alpha, steps = 8, 2, 0.2, 3
    config = Graph4MMConfig(
        qformer_config={"hidden_size": width, "num_attention_heads": heads},
        structure="hop_diffused_aware",
        diffusion_alpha=alpha,
        diffusion_steps=steps,
        max_hops=2,
    )
    module = build_structure_module(config, enabled=True).double()
    assert isinstance(module, HopDiffusedAwareAttention)
    _, _, _, adjacency = random_graph_batch(nodes=5, padded=(0, 2), seed=5)
    node_mask = adjacency.any(dim=-1)
    hops = torch.tensor([[0, 1, 2, 3, -1], [0, 2, 1, 0, 0]])
    hidden = torch.randn(2, 5, width, dtype=torch.float64) * node_mask[..., None]
    output = module(hidden, SubgraphInputs("image", node_mask, adjacency, hops=hops))

    table = module.hop_aware.hop_embeddings.weight
    rows = torch.where((hops >= 0) & (hops <= 2), hops, torch.full_like(hops, 3))
    with_hops = (hidden + table[rows]) * node_mask[..., None]
    projections = module.hop_diffused
    query = split_heads(with_hops @ projections.query.weight.T + projections.query.bias, heads)
    key = split_heads(with_hops @ projections.key.weight.T + projections.key.bias, heads)
    diffused = reference_diffusion(query, key, split_heads(with_hops, heads), adjacency, alpha, steps)
    diffused = diffused.transpose(1, 2).reshape(2, 5, width) / sum(
        alpha * (1 - alpha) ** i for i in range(steps + 1)
    )
    expected = with_hops + diffused
    torch.testing.assert_close(output, expected, rtol=1e-10, atol=1e-10)
    assert (output[1, -2:] == 0).all()
    # the hops matter: the same states with other hops give another output
    other = module(hidden, SubgraphInputs("image", node_mask, adjacency, hops=hops.flip(-1)))
    assert not torch.allclose(other[0], output[0])


def test_dirichlet_energy_on_a_hand_computed_graph():
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    adjacency = torch.tensor([[True, True, False], [True, True, True], [False, True, True]])
    # edges (0,1) and (1,2), each counted both ways: 2 * (2 + 1) = 6; ||X||^2 = 4
    assert dirichlet_energy(features, adjacency).item() == pytest.approx(6 / 4)


def test_hop_diffusion_keeps_more_dirichlet_energy_than_stacked_graph_attention():
    """The paper's over-smoothing claim, on 30 random connected graphs of 12 nodes (d = 16).

    Hop-diffused output (K = 2, alpha = 0.1, normalised weights, no residual) against k stacked
    plain graph-attention layers (each recomputing A from its input with the same projections).
    """
    torch.manual_seed(0)
    graphs, nodes, width = 30, 12, 16
    module = hop_module(width, num_heads=1, alpha=0.1, num_steps=2).double()
    generator = torch.Generator().manual_seed(1)
    ring = torch.eye(nodes, dtype=torch.bool).roll(1, dims=1)  # keeps every graph connected
    adjacency = ring | (torch.rand(graphs, nodes, nodes, generator=generator) < 0.2)
    adjacency = adjacency | adjacency.transpose(1, 2) | torch.eye(nodes, dtype=torch.bool)
    hidden = torch.randn(graphs, nodes, width, generator=generator, dtype=torch.float64)

    def energies(features):
        return torch.stack([dirichlet_energy(features[g], adjacency[g]) for g in range(graphs)])

    with torch.no_grad():
        results = {
            "input": energies(hidden),
            "hop_diffused": energies(
                module.diffuse(hidden, SubgraphInputs("text", adjacency.any(-1), adjacency))
            ),
        }
        stacked = hidden
        for depth in range(1, 9):
            probs = masked_attention_probs(
                module.query(stacked)[:, None], module.key(stacked)[:, None], adjacency[:, None], width**-0.5
            )
            stacked = (probs @ stacked[:, None])[:, 0]
            if depth in (2, 4, 8):
                results[f"gat_x{depth}"] = energies(stacked)
    means = {name: values.mean().item() for name, values in results.items()}
    report = ", ".join(f"{name}={value:.3f}" for name, value in means.items())
    print(f"\nmean normalised Dirichlet energy over {graphs} graphs: {report}")
    for depth in (2, 4, 8):
        wins = (results["hop_diffused"] > results[f"gat_x{depth}"]).float().mean().item()
        assert means["hop_diffused"] > means[f"gat_x{depth}"] and wins >= 0.9, (
            f"{report}; wins x{depth}={wins}"
        )
    assert means["gat_x8"] < means["gat_x2"], report  # deeper plain attention smooths more
