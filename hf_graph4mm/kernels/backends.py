"""The registry of attention backends and the check made when a user selects one.

Each attention core (hop-diffused, interlaced) keeps a table ``name -> function``;
backends register themselves by name, and callers look them up through
:func:`get_backend`, which is the one place that explains what is valid.
"""

from __future__ import annotations

import os
from collections.abc import Callable

ATTENTION_IMPLEMENTATIONS = ("eager", "sdpa", "triton")

_REGISTRY: dict[str, dict[str, Callable]] = {"hop_diffused": {}, "interlaced": {}}


def register_backend(core: str, name: str, function: Callable) -> None:
    """Make ``function`` the ``name`` backend of the attention ``core``."""
    if core not in _REGISTRY:
        raise ValueError(f"unknown attention core {core!r}; known: {sorted(_REGISTRY)}")
    _REGISTRY[core][name] = function


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
    import torch

    if not torch.cuda.is_available():
        return (
            "no CUDA GPU is visible (set TRITON_INTERPRET=1 to run the kernels in Triton's CPU interpreter)"
        )
    return None


def check_implementation(name: str) -> str:
    """Validate a user's ``attn_implementation`` choice for our attention cores.

    Raises:
        ValueError: unknown name (the message lists the valid ones), or "triton" where
            Triton cannot run (the message says why).
    """
    if name not in ATTENTION_IMPLEMENTATIONS:
        raise ValueError(
            f"unknown attention implementation {name!r}; valid ones are {', '.join(ATTENTION_IMPLEMENTATIONS)}"
        )
    if name == "triton":
        reason = triton_unavailable_reason()
        if reason is not None:
            raise ValueError(f"attn_implementation='triton' cannot run here: {reason}")
    return name


def get_backend(core: str, name: str) -> Callable:
    """The function implementing ``core`` with backend ``name``."""
    check_implementation(name)
    table = _REGISTRY[core]
    if name not in table and name == "triton":
        from . import triton_backends  # noqa: F401  (imports triton lazily; registers the kernels)
    if name not in table:
        raise ValueError(
            f"the {name!r} backend of {core} attention is not available; registered: {sorted(table)}"
        )
    return table[name]
