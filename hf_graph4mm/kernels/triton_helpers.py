"""Triton-language pieces both cores' kernels use (this module needs Triton; ``triton_support`` does not)."""

from __future__ import annotations

import torch
import triton
import triton.language as tl

LOG2E: tl.constexpr = tl.constexpr(1.4426950408889634)  # exp(x) = exp2(x * log2(e)), folded into the scale
FLOATS = (torch.bfloat16, torch.float16, torch.float32, torch.float64)
# How compile jobs type a dtype key's tensors, and the input_precision its dots ask for
COMPILE_TYPES = {
    "bf16": ("bf16", "tf32"),
    "fp16": ("fp16", "tf32"),
    "fp32": ("fp32", "ieee"),
    "fp32-tf32": ("fp32", "tf32"),
    "fp64": ("fp64", "ieee"),
}


@triton.jit
def scalar(hi, lo, dtype: tl.constexpr):
    """A float64 scalar passed as two float32 arguments (``triton_support.split_float``), in ``dtype``."""
    return tl.to_tensor(hi).to(dtype) + tl.to_tensor(lo).to(dtype)


def dtype_refusal(
    core: str, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
) -> tuple[str, str] | None:
    """The refusal of inputs the kernels do not take: query, key and value of different or non-float dtypes."""
    if query.dtype == key.dtype == value.dtype and query.dtype in FLOATS:
        return None
    return f"{core}_dtype", (
        f"Triton {core.replace('_', '-')} attention takes query, key and value of one floating dtype, got "
        f"{query.dtype}, {key.dtype}, {value.dtype}: using sdpa"
    )
