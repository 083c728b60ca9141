"""What the Triton kernels share: accumulation dtype, ``tl.dot`` precision and the device check."""

from __future__ import annotations

import os

import torch


def check_device(tensor: torch.Tensor) -> None:
    """The kernels run on CUDA tensors (or anything under ``TRITON_INTERPRET=1``)."""
    if tensor.device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        raise ValueError(
            f"attn_implementation='triton' needs CUDA tensors, got a tensor on {tensor.device}; move the "
            "model to a GPU or pick 'sdpa'"
        )


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Softmax statistics and accumulators: float64 for float64 inputs, else float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def dot_precision(dtype: torch.dtype) -> str:
    """``input_precision`` of the kernels' ``tl.dot`` for inputs of ``dtype``.

    float32 follows torch's own matmul setting (``allow_tf32``, off by default), so the
    "triton" and "eager" backends round alike; with bf16/fp16 inputs the float32 products
    inside the kernels (hop-diffused backward) may use tf32, which is still finer than the
    inputs.
    """
    if dtype in (torch.bfloat16, torch.float16):
        return "tf32"
    if dtype == torch.float32 and torch.backends.cuda.matmul.allow_tf32:
        return "tf32"
    return "ieee"
