"""The shared attention primitives: dropout's distribution and gradient, the masked softmax's fast path."""

from __future__ import annotations

import pytest
import torch

from hf_graph4mm.kernels.dropout import dropout, dropout_add, dropout_mask
from hf_graph4mm.kernels.softmax import attention_block, masked_attention_probs


def _rounded(p: float) -> float:
    """The drop probability the 16-bit masks use: p rounded to a multiple of 2^-16."""
    return round(p * 65536) / 65536


def test_dropout_keeps_a_one_minus_p_fraction_scaled_and_passes_gradient_through_kept_entries():
    torch.manual_seed(0)
    x = torch.ones(200_000, dtype=torch.float64, requires_grad=True)
    out = dropout(x, 0.3)
    kept = out != 0
    # 200k Bernoulli(0.7) draws: the kept fraction is within 5 standard deviations (~0.005) of 0.7
    assert abs(kept.double().mean().item() - 0.7) < 0.005
    keep_probability = 1 - _rounded(0.3)
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / keep_probability))
    (grad,) = torch.autograd.grad(out.sum(), x)
    torch.testing.assert_close(grad, kept.double() / keep_probability)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.001])
def test_dropout_mask_is_unbiased_and_every_16_bit_lane_drops_at_rate_p(p):
    torch.manual_seed(1)
    numel = 400_000
    mask = dropout_mask((numel,), p, torch.float64, scale=2.0)
    # E[mask] = scale; a draw has variance scale^2 p / (1 - p): the mean of 400k is within 5 sigma
    assert abs(mask.mean().item() - 2.0) < 5 * 2.0 * (p / (1 - p) / numel) ** 0.5
    dropped = mask == 0
    bound = 5 * (p * (1 - p) / (numel / 4)) ** 0.5
    # four 16-bit levels come from each 64-bit draw: each lane of the four must drop at rate p
    for lane in range(4):
        assert abs(dropped[lane::4].double().mean().item() - p) < bound
    # kept entries hold scale / (rounded) keep probability
    keep_probability = 1 - (_rounded(p) if p >= 1 / 256 else p)
    torch.testing.assert_close(mask[~dropped], torch.full_like(mask[~dropped], 2.0 / keep_probability))


def test_dropout_lanes_are_not_correlated():
    torch.manual_seed(2)
    dropped = (dropout_mask((4 * 200_000,), 0.5, torch.float64) == 0).double().view(-1, 4)
    centred = dropped - dropped.mean(0)
    correlation = (centred.T @ centred) / dropped.shape[0] / 0.25
    off_diagonal = correlation - torch.diag(torch.diag(correlation))
    assert off_diagonal.abs().max().item() < 5 / 200_000**0.5


def test_dropout_edge_probabilities():
    x = torch.randn(5, 4)
    assert dropout(x, 0.0) is x
    assert (dropout(x, 1.0) == 0).all()
    torch.testing.assert_close(dropout(x, 0.0, scale=3.0), 3.0 * x)
    with pytest.raises(ValueError, match="dropout probability"):
        dropout_mask((3,), 1.5, torch.float32)


def test_dropout_folds_the_scale_and_dropout_add_is_residual_plus_dropout():
    x = torch.randn(64, 33, dtype=torch.float64)
    residual = torch.randn(64, 33, dtype=torch.float64)
    torch.manual_seed(3)
    scaled = dropout(x, 0.25, scale=1.5)
    torch.manual_seed(3)
    plain = dropout(x, 0.25)
    torch.testing.assert_close(scaled, 1.5 * plain)
    torch.manual_seed(4)
    fused = dropout_add(residual, x, 0.25)
    torch.manual_seed(4)
    torch.testing.assert_close(fused, residual + dropout(x, 0.25))


@pytest.mark.parametrize("empty_row", [False, True])
def test_masked_softmax_equals_the_float64_formula_with_and_without_empty_rows(empty_row):
    generator = torch.Generator().manual_seed(5)
    query = torch.randn(2, 3, 5, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    key = torch.randn(2, 3, 6, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    allowed = torch.rand(2, 1, 5, 6, generator=generator) > 0.4
    allowed[..., 0] = True
    if empty_row:
        allowed[1, 0, 2] = False
    probs = masked_attention_probs(query, key, allowed, 0.5)
    scores = (query @ key.transpose(-1, -2) * 0.5).detach()
    expected = torch.exp(scores) * allowed
    expected = expected / expected.sum(-1, keepdim=True).clamp_min(1e-300)
    torch.testing.assert_close(probs, expected, rtol=1e-12, atol=1e-12)
    torch.autograd.gradcheck(lambda q, k: masked_attention_probs(q, k, allowed, 0.5), (query, key))
    torch.testing.assert_close(
        masked_attention_probs(query, key, None, 0.5), torch.softmax(scores, -1), rtol=1e-12, atol=1e-12
    )


def test_attention_block_without_dropout_is_probs_times_value():
    generator = torch.Generator().manual_seed(6)
    query, key, value = (torch.randn(2, 2, 4, 3, dtype=torch.float64, generator=generator) for _ in range(3))
    allowed = torch.tensor([[True, True, False, True], [True, False, False, False]])[:, None, None, :]
    expected = masked_attention_probs(query, key, allowed, 0.7) @ value
    torch.testing.assert_close(attention_block(query, key, value, allowed, 0.7), expected)


@pytest.mark.parametrize("num_steps", [0, 1, 2, 5])
def test_horner_operator_is_the_sum_of_matrix_powers_and_applies_like_diffuse(num_steps):
    from hf_graph4mm.kernels.hop_diffused.diffusion import diffuse, diffusion_weights, horner_operator

    generator = torch.Generator().manual_seed(8)
    probs = torch.softmax(torch.randn(6, 6, 6, dtype=torch.float64, generator=generator), -1)
    value = torch.randn(6, 6, 5, dtype=torch.float64, generator=generator)
    weights = diffusion_weights(0.1, num_steps)
    expected = sum(theta * torch.linalg.matrix_power(probs, i) for i, theta in enumerate(weights))
    operator, factors = horner_operator(probs, weights)
    assert len(factors) == max(num_steps - 1, 0)
    torch.testing.assert_close(operator, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(operator @ value, diffuse(probs, value, weights), rtol=1e-12, atol=1e-12)
    # a per-row theta_0 diagonal: row 2 without its i = 0 term
    diagonal = torch.full((6, 6), weights[0], dtype=torch.float64)
    diagonal[:, 2] = 0.0
    without_row_2 = horner_operator(probs, weights, diagonal)[0]
    expected[:, 2, 2] -= weights[0]
    torch.testing.assert_close(without_row_2, expected, rtol=1e-12, atol=1e-12)


def test_hop_diffused_sdpa_routes_small_graphs_to_the_operator_form():
    from hf_graph4mm.kernels.hop_diffused.sdpa import DENSE_NODES_LIMIT, sdpa_path

    assert sdpa_path(32, 64) == "probs-once (operator)"
    assert sdpa_path(64, 64) == "probs-once (hops)"
    assert sdpa_path(DENSE_NODES_LIMIT + 1, 1024) == "sdpa-per-hop"
    assert sdpa_path(32) == "probs-once"


@pytest.mark.parametrize("p", [0.2, 0.001])
def test_dropout_mask_and_dropout_keep_make_the_same_draw_from_the_same_seed(p):
    from hf_graph4mm.kernels.dropout import dropout_keep

    torch.manual_seed(9)
    mask = dropout_mask((1000, 7), p, torch.float32, scale=3.0)
    torch.manual_seed(9)
    keep, keep_probability = dropout_keep((1000, 7), p)
    assert torch.equal(mask != 0, keep)
    torch.testing.assert_close(mask[keep], torch.full_like(mask[keep], 3.0 / keep_probability))


@pytest.mark.parametrize("rows", ["empty rows", "every row", "everything allowed"])
def test_masked_attention_probs_in_place_outside_autograd_equals_recorded(rows):
    """Outside autograd the scores are edited in place; the numbers are the recorded path's, empty rows zero."""
    generator = torch.Generator().manual_seed(9)
    query, key = (torch.randn(2, 3, 5, 4, dtype=torch.float64, generator=generator) for _ in range(2))
    allowed = (torch.rand(2, 1, 5, 5, generator=generator) < 0.5) | torch.eye(5, dtype=torch.bool)
    if rows == "empty rows":
        allowed[0, 0, 2] = False
    if rows == "everything allowed":
        allowed = torch.ones_like(allowed)
    recorded = masked_attention_probs(query.requires_grad_(), key, allowed, 0.4)
    assert recorded.requires_grad
    with torch.no_grad():
        in_place = masked_attention_probs(query, key, allowed, 0.4)
    torch.testing.assert_close(in_place, recorded.detach(), rtol=0, atol=0)
    assert not in_place[~allowed.expand_as(in_place)].any()
    if rows == "empty rows":
        assert in_place[0, :, 2].abs().max() == 0
