"""The "triton" backends (run by Triton's CPU interpreter when there is no GPU) match eager.

Outputs and the gradients of query, key and value, in float64 (the interpreter computes
in numpy, so float64 is exact up to summation order) and float32; plus the documented
fallbacks to sdpa and the errors when Triton cannot run.
"""

from __future__ import annotations

import os
import warnings

import pytest
import torch

from hf_graph4mm.kernels import (
    check_implementation,
    hop_diffused_attention,
    interlaced_attention,
)
from hf_graph4mm.kernels.interlaced import InterlacedLayout
from hf_graph4mm.testing.kernel_cases import INTERLACED_CASES, check_hop_diffused, check_interlaced

pytest.importorskip("triton")  # Linux wheels only; the CPU suite runs it under TRITON_INTERPRET=1
from hf_graph4mm.kernels.hop_diffused import triton as triton_hop_diffused  # noqa: E402
from hf_graph4mm.kernels.interlaced import triton as triton_interlaced  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
DEVICE = "cpu" if INTERPRETED else "cuda"
# Exact arithmetic in the interpreter; on a GPU, float64 tl.dot is also IEEE.
F64 = dict(dtype=torch.float64, atol=1e-10, rtol=1e-10, device=DEVICE)


pytestmark = pytest.mark.usefixtures("fresh_fallback_warnings")  # tests/kernels/conftest.py


@pytest.mark.parametrize(
    ("batch", "heads", "nodes", "num_steps"),
    [(1, 1, 1, 2), (3, 2, 7, 3), (2, 2, 7, 0), (1, 2, 16, 1), (2, 1, 64, 2), (1, 2, 128, 4)],
)
def test_hop_diffused_triton_matches_eager_float64(batch, heads, nodes, num_steps):
    check_hop_diffused("triton", batch, heads, nodes, 8, num_steps, **F64)


def test_hop_diffused_triton_matches_eager_float32_odd_head_dim():
    check_hop_diffused("triton", 2, 3, 20, 12, 2, torch.float32, atol=2e-5, rtol=2e-5, device=DEVICE)


@pytest.mark.parametrize(("segment_lengths", "pattern"), INTERLACED_CASES)
@pytest.mark.parametrize("padded", [False, True])
def test_interlaced_triton_matches_eager_float64(segment_lengths, pattern, padded):
    check_interlaced("triton", 2, 2, segment_lengths, pattern, padded, 8, **F64)


def test_interlaced_triton_matches_eager_float32_batch_heads():
    check_interlaced(
        "triton", 2, 2, (18, 33, 1), "forward", True, 24, torch.float32, atol=2e-5, rtol=2e-5, device=DEVICE
    )


def test_interlaced_grid_counts_the_blocks_of_every_segment():
    """The host's count of query/key blocks (the grid), which the kernels recount from the same bounds."""
    bounds = triton_interlaced._bounds((20, 1, 13))
    assert bounds == (0, 20, 21, 34)
    assert triton_interlaced._blocks(bounds, 16) == 2 + 1 + 1  # a block never straddles two segments
    assert triton_interlaced._blocks(bounds, 64) == 3
    assert triton_interlaced._blocks(triton_interlaced._bounds((0, 4, 6)), 16) == 2  # empty: no block


def test_hop_diffused_large_graph_falls_back_to_sdpa_once():
    nodes = triton_hop_diffused.MAX_NODES + 2
    query = torch.randn(1, 1, nodes, 4, dtype=torch.float64, device=DEVICE)
    adjacency = torch.rand(1, nodes, nodes, device=DEVICE) < 0.1
    adjacency |= torch.eye(nodes, dtype=torch.bool, device=DEVICE)
    with pytest.warns(UserWarning, match=f"{nodes} nodes.*using sdpa"):
        out = hop_diffused_attention(query, query, query, adjacency, 0.1, 2, implementation="triton")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call must stay silent
        hop_diffused_attention(query, query, query, adjacency, 0.1, 2, implementation="triton")
    expected = hop_diffused_attention(query, query, query, adjacency, 0.1, 2, implementation="eager")
    torch.testing.assert_close(out, expected)


def test_interlaced_dropout_runs_in_the_kernel_and_p_one_falls_back_once(monkeypatch):
    calls = []
    original = triton_interlaced.InterlacedAttentionFunction.apply
    monkeypatch.setattr(
        triton_interlaced.InterlacedAttentionFunction, "apply", lambda *a: calls.append(1) or original(*a)
    )
    query = torch.randn(2, 2, 9, 4, device=DEVICE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # dropout is no reason to leave the kernel
        interlaced_attention(
            query, query, query, (3, 4, 2), "forward", implementation="triton", dropout_p=0.5
        )
    assert calls == [1]
    with pytest.warns(UserWarning, match="dropout_p=1.0.*using sdpa"):
        out = interlaced_attention(
            query, query, query, (3, 4, 2), "forward", implementation="triton", dropout_p=1.0
        )
    assert calls == [1] and not out.any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        interlaced_attention(
            query, query, query, (3, 4, 2), "forward", implementation="triton", dropout_p=1.0
        )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error given on a machine without a GPU")
def test_triton_without_gpu_or_interpreter_is_refused(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(ValueError, match="triton.*no CUDA GPU.*TRITON_INTERPRET=1"):
        check_implementation("triton")
    query = torch.randn(1, 1, 3, 4)
    with pytest.raises(ValueError, match="needs CUDA tensors, got a tensor on cpu"):
        triton_interlaced.interlaced_attention_triton(
            query, query, query, InterlacedLayout((1, 1, 1)), (1, 2, 0)
        )


def test_value_width_other_than_query_falls_back_to_sdpa():
    query = torch.randn(1, 2, 6, 4, dtype=torch.float64, device=DEVICE)
    value = torch.randn(1, 2, 6, 3, dtype=torch.float64, device=DEVICE)
    adjacency = torch.ones(1, 6, 6, dtype=torch.bool, device=DEVICE)
    with pytest.warns(UserWarning, match=r"value 3\): using sdpa"):
        out = hop_diffused_attention(query, query, value, adjacency, 0.1, 2, implementation="triton")
    torch.testing.assert_close(out, hop_diffused_attention(query, query, value, adjacency, 0.1, 2))
    with pytest.warns(UserWarning, match=r"value 3\): using sdpa"):
        out = interlaced_attention(query, query, value, (2, 3, 1), "self", implementation="triton")
    torch.testing.assert_close(out, interlaced_attention(query, query, value, (2, 3, 1), "self"))


def count_launches(monkeypatch, module, names):
    """Replace the kernels ``names`` of ``module`` by wrappers that record each launch's grid."""
    launches = []

    class CountingKernel:
        def __init__(self, name, kernel):
            self.name, self.kernel = name, kernel

        def __getitem__(self, grid):
            # a callable grid is called by the autotuner with the configuration it picked: in the
            # interpreter, its one configuration (16-row blocks)
            launches.append((self.name, grid(dict(BLOCK_M=16, BLOCK_N=16)) if callable(grid) else grid))
            return self.kernel[grid]

    for name in names:
        monkeypatch.setattr(module, name, CountingKernel(name, getattr(module, name)))
    return launches


def test_hop_diffused_forward_and_backward_are_one_program_per_graph(monkeypatch):
    names = ("_hop_diffused_fwd_kernel", "_hop_diffused_bwd_kernel")
    launches = count_launches(monkeypatch, triton_hop_diffused, names)
    query = torch.randn(2, 3, 9, 8, device=DEVICE, requires_grad=True)
    adjacency = torch.ones(2, 9, 9, dtype=torch.bool, device=DEVICE)
    hop_diffused_attention(query, query, query, adjacency, 0.1, 3, implementation="triton").sum().backward()
    assert launches == [(name, (2 * 3,)) for name in names]


def test_interlaced_forward_and_backward_are_one_launch_each(monkeypatch):
    names = ("_interlaced_fwd_kernel", "_interlaced_bwd_kernel")
    launches = count_launches(monkeypatch, triton_interlaced, names)
    query = torch.randn(2, 3, 20 + 1 + 13, 8, device=DEVICE, requires_grad=True)
    interlaced_attention(
        query, query, query, (20, 1, 13), "forward", implementation="triton"
    ).sum().backward()
    block = 16  # the interpreter's one configuration
    query_blocks = sum(-(-length // block) for length in (20, 1, 13))
    assert launches == [  # one grid dimension: batch x heads never meets the 65,535 limit of the others
        ("_interlaced_fwd_kernel", (query_blocks * 2 * 3,)),
        ("_interlaced_bwd_kernel", (2 * query_blocks * 2 * 3,)),  # key-block programs + query-block programs
    ]
