"""The shared attention primitives: dropout's distribution and gradient."""

from __future__ import annotations

import torch

from hf_graph4mm.kernels.primitives import dropout


def test_dropout_keeps_a_one_minus_p_fraction_scaled_and_passes_gradient_through_kept_entries():
    torch.manual_seed(0)
    x = torch.ones(200_000, dtype=torch.float64, requires_grad=True)
    out = dropout(x, 0.3)
    kept = out != 0
    # 200k Bernoulli(0.7) draws: the kept fraction is within 5 standard deviations (~0.005) of 0.7
    assert abs(kept.double().mean().item() - 0.7) < 0.005
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / 0.7))
    (grad,) = torch.autograd.grad(out.sum(), x)
    torch.testing.assert_close(grad, kept.double() / 0.7)


def test_dropout_edge_probabilities():
    x = torch.randn(5, 4)
    assert dropout(x, 0.0) is x
    assert (dropout(x, 1.0) == 0).all()
