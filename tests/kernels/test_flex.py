"""The "flex_attention" backends against eager: outputs (float64 on CPU), fallbacks, gradients on CUDA."""

from __future__ import annotations

import pytest
import torch

from hf_graph4mm.kernels import (
    HopDiffusedAttentionInterface,
    InterlacedAttentionInterface,
    flex_support,
    hop_diffused_attention,
    interlaced_attention,
)
from hf_graph4mm.kernels.hop_diffused import flex as flex_hop_diffused
from hf_graph4mm.kernels.interlaced import flex as flex_interlaced

SEGMENTS = (5, 9, 7)


def graph_inputs(dtype=torch.float64, device="cpu", requires_grad=False, seed=0):
    generator = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(2, 3, 10, 4, generator=generator, dtype=dtype) for _ in "qkv")
    adjacency = torch.rand(2, 10, 10, generator=generator) < 0.4
    adjacency = adjacency | adjacency.transpose(1, 2) | torch.eye(10, dtype=torch.bool)
    adjacency[1, -2:, :] = False  # two padded nodes: no edge at all
    adjacency[1, :, -2:] = False
    tensors = [t.to(device).requires_grad_(requires_grad) for t in (q, k, v)]
    return (*tensors, adjacency.to(device))


def interlaced_inputs(dtype=torch.float64, device="cpu", requires_grad=False, seed=0):
    generator = torch.Generator().manual_seed(seed)
    total = sum(SEGMENTS)
    q, k, v = (torch.randn(2, 2, total, 8, generator=generator, dtype=dtype) for _ in "qkv")
    real = torch.rand(2, total, generator=generator) < 0.7
    real[1, :5] = False  # sample 1 has no real text key: rows attending text get zeros
    tensors = [t.to(device).requires_grad_(requires_grad) for t in (q, k, v)]
    return (*tensors, real.to(device))


pytestmark = pytest.mark.usefixtures("fresh_fallback_warnings")  # tests/kernels/conftest.py


def test_the_tables_name_the_flex_functions():
    assert (
        HopDiffusedAttentionInterface().get_interface("flex_attention")
        is flex_hop_diffused.hop_diffused_attention_flex
    )
    assert (
        InterlacedAttentionInterface().get_interface("flex_attention")
        is flex_interlaced.interlaced_attention_flex
    )


def test_hop_diffused_flex_equals_eager_in_float64(monkeypatch):
    q, k, v, adjacency = graph_inputs()
    calls = []
    original = flex_support.flex_attention_call
    monkeypatch.setattr(
        flex_hop_diffused, "flex_attention_call", lambda *a, **kw: calls.append(1) or original(*a, **kw)
    )
    with torch.no_grad():
        expected = hop_diffused_attention(q, k, v, adjacency, 0.2, 3)
        got = hop_diffused_attention(q, k, v, adjacency, 0.2, 3, implementation="flex_attention")
    assert len(calls) == 3  # one flex call per diffusion step: flex really ran
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)
    assert (got[1, :, -2:] == 0).all()


@pytest.mark.parametrize("pattern", ["forward", "backward", "self"])
def test_interlaced_flex_equals_eager_in_float64(pattern, monkeypatch):
    q, k, v, real = interlaced_inputs()
    calls = []
    original = flex_support.flex_attention_call
    monkeypatch.setattr(
        flex_interlaced, "flex_attention_call", lambda *a, **kw: calls.append(1) or original(*a, **kw)
    )
    with torch.no_grad():
        expected = interlaced_attention(q, k, v, SEGMENTS, pattern, real)
        got = interlaced_attention(q, k, v, SEGMENTS, pattern, real, implementation="flex_attention")
    assert calls == [1]
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


def test_cpu_training_falls_back_to_sdpa_with_one_warning_and_eager_gradients():
    q, k, v, adjacency = graph_inputs(requires_grad=True)
    with pytest.warns(UserWarning, match="no flex_attention backward on CPU.*sdpa backend"):
        got = hop_diffused_attention(q, k, v, adjacency, 0.2, 2, implementation="flex_attention")
    grads = torch.autograd.grad(got.sum(), (q, k, v))
    expected = hop_diffused_attention(q, k, v, adjacency, 0.2, 2)
    for grad, reference in zip(grads, torch.autograd.grad(expected.sum(), (q, k, v)), strict=True):
        torch.testing.assert_close(grad, reference, rtol=1e-10, atol=1e-10)


def test_no_grad_evaluation_of_trainable_inputs_runs_flex_on_cpu():
    q, k, v, real = interlaced_inputs(requires_grad=True)
    with torch.no_grad():
        got = interlaced_attention(q, k, v, SEGMENTS, "self", real, implementation="flex_attention")
        expected = interlaced_attention(q, k, v, SEGMENTS, "self", real)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


def test_attention_dropout_falls_back_to_sdpa():
    q, k, v, real = interlaced_inputs(dtype=torch.float32)
    with pytest.warns(UserWarning, match="no attention dropout"):
        interlaced_attention(
            q, k, v, SEGMENTS, "forward", real, implementation="flex_attention", dropout_p=0.1
        )


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="flex_attention trains only on CUDA (torch has no CPU backward)"
)
@pytest.mark.parametrize("core", ["hop_diffused", "interlaced"])
def test_flex_gradients_equal_eager_on_cuda(core):
    if core == "hop_diffused":
        q, k, v, adjacency = graph_inputs(torch.float32, "cuda", True)
        run = lambda impl: hop_diffused_attention(q, k, v, adjacency, 0.2, 2, implementation=impl)  # noqa: E731
    else:
        q, k, v, real = interlaced_inputs(torch.float32, "cuda", True)
        run = lambda impl: interlaced_attention(q, k, v, SEGMENTS, "forward", real, implementation=impl)  # noqa: E731
    got, expected = run("flex_attention"), run("eager")
    torch.testing.assert_close(got, expected, rtol=2e-4, atol=2e-4)
    for grad, reference in zip(
        torch.autograd.grad(got.sum(), (q, k, v)), torch.autograd.grad(expected.sum(), (q, k, v)), strict=True
    ):
        torch.testing.assert_close(grad, reference, rtol=2e-3, atol=2e-3)
