"""Chunked dropped attention (forward and hand-written backward) against autograd through the plain composition."""

from __future__ import annotations

import pytest
import torch

from hf_graph4mm.kernels.dropout import dropout_keep
from hf_graph4mm.kernels.interlaced import dropped as dropped_attention_module
from hf_graph4mm.kernels.interlaced.dropped import dropped_attention
from hf_graph4mm.kernels.softmax import masked_attention_probs


def composition(query, key, value, key_is_real, p, scaling, seed):
    """The same math left to autograd, with the same dropout draw (re-drawn from the same seed)."""
    batch, heads, query_length, _ = query.shape
    torch.manual_seed(seed)
    keep, keep_probability = dropout_keep((batch * heads, query_length, key.shape[-2]), p)
    allowed = None if key_is_real is None else key_is_real[:, None, None, :]
    probs = masked_attention_probs(query, key, allowed, scaling)
    return torch.matmul(probs * keep.view(probs.shape) / keep_probability, value)


def inputs(masked: bool, empty_sample: bool):
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(3, 2, 5, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    key = torch.randn(3, 2, 7, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    value = torch.randn(3, 2, 7, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    key_is_real = None
    if masked:
        key_is_real = torch.rand(3, 7, generator=generator) > 0.4
        key_is_real[:, 0] = True
        if empty_sample:
            key_is_real[1] = False  # sample 1 has no real key at all
    return query, key, value, key_is_real


def run(query, key, value, key_is_real, seed=1):
    torch.manual_seed(seed)
    return dropped_attention(query, key, value, key_is_real, 0.3, 0.6)


@pytest.mark.parametrize("chunk_elements", [1, 50, 1 << 20], ids=["pair-by-pair", "a-few-pairs", "one-chunk"])
@pytest.mark.parametrize(("masked", "empty_sample"), [(False, False), (True, False), (True, True)])
def test_forward_and_gradients_equal_autograd_through_the_composition(masked, empty_sample, chunk_elements, monkeypatch):
    monkeypatch.setattr(dropped_attention_module, "CHUNK_ELEMENTS", chunk_elements)
    query, key, value, key_is_real = inputs(masked, empty_sample)
    got = run(query, key, value, key_is_real)
    expected = composition(query, key, value, key_is_real, 0.3, 0.6, seed=1)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    grad = torch.randn_like(got)
    got_grads = torch.autograd.grad(got, (query, key, value), grad)
    expected_grads = torch.autograd.grad(expected, (query, key, value), grad)
    for g, e in zip(got_grads, expected_grads):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)
    if empty_sample:
        assert (got[1] == 0).all()
    assert not torch.allclose(got, composition(query, key, value, key_is_real, 0.0, 0.6, seed=1))  # dropout acted


def test_gradcheck(monkeypatch):
    monkeypatch.setattr(dropped_attention_module, "CHUNK_ELEMENTS", 50)
    query, key, value, key_is_real = inputs(True, False)
    torch.autograd.gradcheck(lambda q, k, v: run(q, k, v, key_is_real), (query, key, value))


def test_dropout_one_gives_zeros():
    query, key, value, _ = inputs(False, False)
    assert (dropped_attention(query, key, value, None, 1.0, 0.6) == 0).all()
