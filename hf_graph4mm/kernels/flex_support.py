"""How our flex_attention backends call torch's ``flex_attention``, and when they cannot.

* On CUDA the call goes through ``torch.compile`` (the fused kernel, forward and backward).
* On CPU torch runs flex_attention unfused (it materialises the scores; compiled CPU flex
  takes only float32 and compiles for tens of seconds per shape), and has no backward at
  all: a call that needs gradients, or one with attention dropout (flex has none), runs
  the core's sdpa backend instead, announced once per process with a ``UserWarning``.
"""

from __future__ import annotations

import functools
import warnings

import torch

from .fallback import warn_once


@functools.cache
def _compiled_flex_attention():
    from torch.nn.attention.flex_attention import flex_attention

    return torch.compile(flex_attention, dynamic=False)


def flex_attention_call(query, key, value, block_mask, scale: float | None = None):
    """``flex_attention(query, key, value, block_mask=..., scale=...)``, compiled where torch can compile it."""
    from torch.nn.attention.flex_attention import flex_attention

    if not torch.is_grad_enabled():  # torch refuses CPU inputs that require grad even under no_grad
        query, key, value = query.detach(), key.detach(), value.detach()
    if query.device.type == "cuda":
        return _compiled_flex_attention()(query, key, value, block_mask=block_mask, scale=scale)
    with warnings.catch_warnings():  # "called without torch.compile": deliberate on CPU, see above
        warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")
        return flex_attention(query, key, value, block_mask=block_mask, scale=scale)


def flex_fallback_reason(tensors: tuple[torch.Tensor, ...], dropout_p: float = 0.0) -> str | None:
    """Why flex_attention cannot run this call (so the sdpa backend must), or None."""
    if dropout_p > 0.0:
        return f"flex_attention has no attention dropout (got dropout_p={dropout_p})"
    if tensors[0].device.type == "cpu" and torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return f"torch {torch.__version__} has no flex_attention backward on CPU"
    return None


def warn_flex_fallback(core: str, reason: str) -> None:
    warn_once(
        f"flex_{core}_{reason.split(' (')[0]}",
        f"{reason}: {core} attention runs its sdpa backend for this call (same numbers); "
        "flex_attention trains on CUDA, and runs on CPU at eval time",
    )
