"""Fixtures for the kernel tests."""

from __future__ import annotations

import pytest

from hf_graph4mm.kernels import fallback


@pytest.fixture
def fresh_fallback_warnings(monkeypatch):
    """Forget which once-per-process fallback warnings were given, so a test sees its own."""
    monkeypatch.setattr(fallback, "_warned", set())


@pytest.fixture
def gpu_dots(monkeypatch):
    """Make the Triton interpreter's ``tl.dot`` round as a GPU does, so dtype tolerances mean something on CPU.

    The interpreter (Triton 3.9) multiplies bf16 operands as their raw 16-bit patterns (integers) and
    ignores ``input_precision``; here bf16 operands are widened to float32 first, and float32 operands of a
    ``"tf32"`` dot are rounded to TF32 (10-bit mantissa, nearest) as tensor cores read them. No-op on a GPU.
    """
    import os

    if os.environ.get("TRITON_INTERPRET") != "1":
        return
    import numpy as np
    import triton.language as tl
    from triton.runtime import interpreter

    original = interpreter.InterpreterBuilder.create_dot

    def operand(handle, tf32):
        if handle.dtype == tl.bfloat16:
            return interpreter.TensorHandle(
                (handle.data.astype(np.uint32) << 16).view(np.float32), tl.float32
            )
        if tf32 and handle.dtype == tl.float32:
            bits = handle.data.astype(np.float32).view(np.uint32)
            rounded = ((bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)
            return interpreter.TensorHandle(rounded, tl.float32)
        return handle

    def create_dot(self, a, b, d, input_precision, max_num_imprecise_acc):
        tf32 = "TF32" in str(input_precision) and "X3" not in str(input_precision)
        return original(self, operand(a, tf32), operand(b, tf32), d, input_precision, max_num_imprecise_acc)

    monkeypatch.setattr(interpreter.InterpreterBuilder, "create_dot", create_dot)


@pytest.fixture
def pretend_gpu(monkeypatch):
    """``pretend_gpu(arch, shared_bytes)``: the Triton entries decide as on that GPU (the limits table's
    verdicts) while the kernels still run in the interpreter."""
    from hf_graph4mm.kernels import triton_support

    def pretend(arch: int, shared_bytes: int) -> None:
        monkeypatch.setattr(triton_support, "device_arch", lambda device: arch)
        monkeypatch.setattr(triton_support, "shared_memory_limit", lambda device: shared_bytes)

    return pretend
