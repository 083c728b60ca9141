"""Which attention backends exist, and why one cannot run on this machine.

The one place that validates a user's ``attn_implementation`` name for our attention
cores. It imports neither Triton nor the models.
"""

from __future__ import annotations

import os

import torch

ATTENTION_IMPLEMENTATIONS = ("eager", "sdpa", "triton", "flex_attention")


def triton_unavailable_reason() -> str | None:
    """Why the Triton backend cannot run here, or ``None`` if it can.

    It runs on a CUDA device, or anywhere under ``TRITON_INTERPRET=1`` (the slow
    numpy interpreter used by the CPU tests).
    """
    try:
        import triton  # noqa: F401
    except ImportError:
        return "the `triton` package is not installed (pip install triton; Linux only)"
    if os.environ.get("TRITON_INTERPRET") == "1":
        return None
    if not torch.cuda.is_available():
        return (
            "no CUDA GPU is visible (set TRITON_INTERPRET=1 to run the kernels in Triton's CPU interpreter)"
        )
    return None


def flex_attention_unavailable_reason() -> str | None:
    """Why ``torch.nn.attention.flex_attention`` cannot run here, or ``None`` if it can."""
    try:
        from torch.nn.attention import flex_attention  # noqa: F401
    except ImportError:
        return f"torch {torch.__version__} has no torch.nn.attention.flex_attention (needs torch >= 2.5)"
    return None


_UNAVAILABLE_REASON = {"triton": triton_unavailable_reason, "flex_attention": flex_attention_unavailable_reason}


def check_implementation(name: str) -> str:
    """Validate a user's ``attn_implementation`` choice for our attention cores.

    Raises:
        ValueError: unknown name (the message lists the valid ones), or a backend that
            cannot run here (the message says why).
    """
    if name not in ATTENTION_IMPLEMENTATIONS:
        raise ValueError(  # begins as transformers words it, so code matching that message still matches
            f"Specified `attn_implementation=\"{name}\"` is not supported (unknown attention implementation "
            f"{name!r}); valid ones are {', '.join(ATTENTION_IMPLEMENTATIONS)}"
        )
    reason = _UNAVAILABLE_REASON.get(name, lambda: None)()
    if reason is not None:
        raise ValueError(f"attn_implementation={name!r} cannot run here: {reason}")
    return name
