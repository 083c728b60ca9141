"""The "sdpa" backends give eager's outputs and gradients (float64), and never build what eager builds."""

from __future__ import annotations

import pytest
import torch
from kernel_cases import INTERLACED_CASES, check_hop_diffused, check_interlaced

from hf_graph4mm.kernels import interlaced_attention, interlaced_attention_sdpa


@pytest.mark.parametrize("nodes", [1, 7, 64, 128])
@pytest.mark.parametrize(("batch", "heads", "num_steps"), [(1, 1, 2), (3, 4, 5), (2, 2, 0)])
def test_hop_diffused_sdpa_matches_eager(batch, heads, nodes, num_steps):
    check_hop_diffused("sdpa", batch, heads, nodes, 8, num_steps, torch.float64, atol=1e-10, rtol=1e-10)


def test_hop_diffused_sdpa_float32():
    check_hop_diffused("sdpa", 2, 2, 33, 16, 3, torch.float32, atol=2e-5, rtol=2e-5)


@pytest.mark.parametrize(("segment_lengths", "pattern"), INTERLACED_CASES)
@pytest.mark.parametrize("padded", [False, True])
def test_interlaced_sdpa_matches_eager(segment_lengths, pattern, padded):
    check_interlaced("sdpa", 2, 3, segment_lengths, pattern, padded, 8, torch.float64, atol=1e-10, rtol=1e-10)


def test_interlaced_sdpa_float32_batch_heads():
    check_interlaced("sdpa", 5, 4, (46, 50, 37), "self", True, 32, torch.float32, atol=2e-5, rtol=2e-5)


def test_interlaced_sdpa_never_sees_a_full_length_sequence(monkeypatch):
    """One SDPA call per (query segment, key segment) pair, each on that pair's slices only."""
    calls = []
    original = torch.nn.functional.scaled_dot_product_attention

    def spy(query, key, value, **kwargs):
        calls.append((query.shape[-2], key.shape[-2]))
        return original(query, key, value, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    query = torch.randn(1, 2, 6 + 4 + 3, 8)
    interlaced_attention(query, query, query, (6, 4, 3), "forward", implementation="sdpa")
    assert calls == [(6, 4), (4, 3), (3, 6)]


def test_interlaced_sdpa_dropout_is_unbiased_attention_dropout():
    """With dropout the result differs per draw but averages to the dropout-free result.

    Dropout(p) on the probabilities scales kept entries by 1/(1-p), so the mean over many
    independent draws (here: many copies of the same sample) converges to the p = 0 output.
    """
    generator = torch.Generator().manual_seed(0)
    copies, lengths = 4000, (3, 4, 2)
    query, key, value = (torch.randn(1, 1, 9, 4, generator=generator, dtype=torch.float64) for _ in range(3))
    expand = [t.expand(copies, -1, -1, -1) for t in (query, key, value)]
    torch.manual_seed(0)
    dropped = interlaced_attention_sdpa(*expand, lengths, (1, 2, 0), None, dropout_p=0.3)
    exact = interlaced_attention_sdpa(query, key, value, lengths, (1, 2, 0), None)
    assert not torch.allclose(dropped[0], exact[0])
    spread = dropped.std(dim=0) / copies**0.5
    assert ((dropped.mean(dim=0) - exact[0]).abs() <= 5 * spread + 1e-12).all()
