"""What the Triton kernels share: the device check, dot precision, scalars as arguments, the GPU a
launch targets, and which launch configurations fit it (:mod:`.triton_limits`).

Precision. Softmax statistics and accumulators are float32 (float64 for float64 inputs). ``tl.dot``
runs in the inputs' dtype: bf16/fp16 inputs take tensor-core dots with float32 accumulation (forward
and backward); float32 inputs take TF32 tensor-core dots when torch's float32 matmul precision allows it
(``torch.set_float32_matmul_precision("high")`` or ``"medium"``, or ``allow_tf32``) and exact float32
(FFMA) at ``"highest"``, torch's default, so that "triton" and "eager" round alike.
"""

from __future__ import annotations

import math
import os
import struct

import torch

from .triton_limits import FITTING


def interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET") == "1"


def check_device(tensor: torch.Tensor) -> None:
    """The kernels run on CUDA tensors (or anything under ``TRITON_INTERPRET=1``)."""
    if tensor.device.type != "cuda" and not interpreted():
        raise ValueError(
            f"attn_implementation='triton' needs CUDA tensors, got a tensor on {tensor.device}; move the "
            "model to a GPU or pick 'sdpa'"
        )


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Softmax statistics and accumulators: float64 for float64 inputs, else float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def dot_precision(dtype: torch.dtype) -> str:
    """``input_precision`` of the kernels' ``tl.dot`` for inputs of ``dtype``.

    float32 follows torch's float32 matmul precision: "tf32" unless it is "highest" (torch's default),
    then "ieee". bf16/fp16 dots run on their own tensor cores whatever this says; float64 is "ieee".
    """
    if dtype in (torch.bfloat16, torch.float16):
        return "tf32"
    if dtype == torch.float32 and torch.get_float32_matmul_precision() != "highest":
        return "tf32"
    return "ieee"


def dtype_key(dtype: torch.dtype) -> str:
    """How :mod:`.triton_limits` names a dtype and its dot precision: bf16, fp16, fp32, fp32-tf32, fp64."""
    name = {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32", torch.float64: "fp64"}[
        dtype
    ]
    return "fp32-tf32" if name == "fp32" and dot_precision(dtype) == "tf32" else name


def split_float(value: float) -> tuple[float, float]:
    """``value`` as two float32 kernel arguments ``(hi, lo)`` with ``hi + lo`` within 2^-48 of it.

    Triton passes Python floats as float32; a float64 kernel adds the two back (``_scalar`` in the kernels),
    a float32 one uses ``hi`` alone. No tensor is made on the host and copied to the device for a scalar.
    """
    hi = struct.unpack("f", struct.pack("f", value))[0]  # rounded to float32 (no tensor)
    return hi, float(value - hi)


def device_arch(device: torch.device) -> int | None:
    """``major * 10 + minor`` of the CUDA device, or None (the interpreter has no limits)."""
    if device.type != "cuda":
        return None
    major, minor = torch.cuda.get_device_capability(device)
    return 10 * major + minor


def target_name(device: torch.device) -> str:
    """How a refusal names the GPU: ``sm_90``; "the interpreter" off CUDA."""
    arch = device_arch(device)
    return "the interpreter" if arch is None else f"sm_{arch}"


def table_arch(arch: int) -> int:
    """The compiled target whose table row speaks for ``arch``: sm_80 for 8.x, sm_90 from 9.0 on."""
    return 80 if arch < 90 else 90


def shared_memory_limit(device: torch.device) -> int:
    """Dynamic shared memory one block may use on ``device`` (opt-in maximum)."""
    properties = torch.cuda.get_device_properties(device)
    return getattr(properties, "shared_memory_per_block_optin", 0) or 101_376


def fitting_configs(kernel: str, device: torch.device, dtype: torch.dtype, shape: tuple) -> list[tuple]:
    """The launch configurations of ``kernel`` at ``shape`` that compile for ``device`` without spills and
    within its shared memory, from :data:`.triton_limits.FITTING`; every configuration of the interpreter.

    Returns:
        ``(config, shared_bytes)`` pairs; ``config`` as the kernel's module names it.
    """
    arch = device_arch(device)
    if arch is None:
        return [(config, 0) for config in INTERPRETER_CONFIGS[kernel]]
    limit = shared_memory_limit(device)
    key = dtype_key(dtype)
    key = "bf16" if key == "fp16" else key  # fp16 compiles to bf16's tiles and MMA shapes: one row for both
    rows = FITTING.get((kernel, table_arch(arch), key, shape), ())
    return [(config, shared) for config, shared in rows if shared <= limit]


# One small configuration per kernel in the CPU interpreter, where tiles cost time, not registers.
INTERPRETER_CONFIGS = {
    "hop fwd": [(4,)],
    "hop bwd": [(4,)],
    "interlaced fwd": [(16, 16, 4, 1)],
    "interlaced bwd": [(16, 16, 4, 1)],
}


def next_block(size: int, smallest: int = 16) -> int:
    """The power-of-two tile that holds ``size`` (``tl.dot`` needs tiles of at least 16)."""
    return max(smallest, 1 << max(0, math.ceil(math.log2(max(size, 1)))))
