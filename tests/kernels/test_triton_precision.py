"""Precision of the Triton kernels per dtype, against float64 eager on the same (rounded) inputs.

bf16 / fp16 inputs take dots in their own dtype with float32 accumulators (forward and backward); float32
takes TF32 dots when torch's float32 matmul precision allows it ("high", "medium") and exact float32 at
"highest" (torch's default). In the interpreter the ``gpu_dots`` fixture makes ``tl.dot`` round as a GPU
does (tests/kernels/conftest.py), so the tolerances below are the GPU's.
"""

from __future__ import annotations

import os

import pytest
import torch

from hf_graph4mm.kernels import hop_diffused_attention, interlaced_attention
from hf_graph4mm.kernels.triton_support import dot_precision, dtype_key
from hf_graph4mm.testing.kernel_cases import random_graphs, random_key_padding

pytest.importorskip("triton")

DEVICE = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
# (dtype, float32 matmul precision) -> largest error allowed, relative to the largest reference entry
TOLERANCE = {
    (torch.float32, "highest"): 5e-6,  # measured in the interpreter: <= 9e-7
    (torch.float32, "high"): 4e-3,  # <= 1.2e-3 (TF32: 10-bit mantissa)
    (torch.bfloat16, "highest"): 5e-2,  # <= 1.9e-2 (bf16: 7-bit mantissa, 2.5 ulps)
    (torch.float16, "highest"): 5e-3,  # <= 7.1e-4
}

pytestmark = pytest.mark.usefixtures("gpu_dots", "fresh_fallback_warnings")


@pytest.fixture
def matmul_precision():
    """Set torch's float32 matmul precision for one test, restored afterwards."""
    before = torch.get_float32_matmul_precision()
    yield torch.set_float32_matmul_precision
    torch.set_float32_matmul_precision(before)


def test_dot_precision_follows_torch_float32_matmul_precision(matmul_precision):
    assert dot_precision(torch.float32) == "ieee" and dtype_key(torch.float32) == "fp32"  # torch's default
    for setting in ("high", "medium"):
        matmul_precision(setting)
        assert dot_precision(torch.float32) == "tf32" and dtype_key(torch.float32) == "fp32-tf32"
    assert dot_precision(torch.float64) == "ieee"
    assert dtype_key(torch.bfloat16) == "bf16" and dtype_key(torch.float16) == "fp16"


def relative_errors(run, inputs, dtype):
    """Largest error of the output and of each input gradient at ``dtype``, relative to float64's largest entry."""
    rounded = [t.to(dtype).requires_grad_() for t in inputs]
    exact = [t.detach().double().requires_grad_() for t in rounded]  # the same numbers, then float64 math
    expected, actual = run(*exact, implementation="eager"), run(*rounded)
    grad_output = torch.randn(expected.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    expected_grads = torch.autograd.grad(expected, exact, grad_output.to(DEVICE))
    actual_grads = torch.autograd.grad(actual, rounded, grad_output.to(DEVICE, dtype))
    pairs = [(actual, expected), *zip(actual_grads, expected_grads)]
    return [((a.double() - e).abs().max() / e.abs().max()).item() for a, e in pairs]


def hop_case():
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.randn(2, 2, 11, 16, generator=generator).to(DEVICE) for _ in range(3)]
    adjacency = random_graphs(2, 11, generator).to(DEVICE)

    def run(query, key, value, implementation="triton"):
        return hop_diffused_attention(query, key, value, adjacency, 0.2, 3, implementation=implementation)

    return run, inputs


def interlaced_case():
    generator = torch.Generator().manual_seed(0)
    lengths = (5, 19, 3)
    inputs = [torch.randn(2, 2, sum(lengths), 16, generator=generator).to(DEVICE) for _ in range(3)]
    padding = random_key_padding(2, lengths, generator).to(DEVICE)

    def run(query, key, value, implementation="triton"):
        return interlaced_attention(
            query, key, value, lengths, "forward", padding, implementation=implementation
        )

    return run, inputs


@pytest.mark.parametrize("case", [hop_case, interlaced_case], ids=["hop_diffused", "interlaced"])
@pytest.mark.parametrize(("dtype", "precision"), list(TOLERANCE), ids=["fp32", "fp32-tf32", "bf16", "fp16"])
def test_triton_error_against_float64_within_the_dtype_tolerance(case, dtype, precision, matmul_precision):
    matmul_precision(precision)
    run, inputs = case()
    errors = relative_errors(run, inputs, dtype)
    assert max(errors) <= TOLERANCE[dtype, precision], errors


@pytest.mark.parametrize("case", [hop_case, interlaced_case], ids=["hop_diffused", "interlaced"])
def test_float32_runs_tf32_dots_only_when_torch_allows_them(case, matmul_precision):
    """Exact float32 at "highest" is far closer to float64 than TF32 at "high": the setting reaches the dots."""
    run, inputs = case()
    exact = max(relative_errors(run, inputs, torch.float32))
    matmul_precision("high")
    tf32 = max(relative_errors(run, inputs, torch.float32))
    assert exact < 1e-5 < tf32, (exact, tf32)
