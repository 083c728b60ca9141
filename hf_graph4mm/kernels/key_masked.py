"""The Q-Former's dense attention: each sample attends to its real keys only.

Its inputs are tiny (a few dozen queries and nodes), so it has two implementations, an
explicit softmax ("eager") and torch's fused SDPA ("sdpa"); :class:`KeyMaskedAttentionInterface`
states, in this one place, that "triton" and "flex_attention" run the sdpa one: the Triton
and flex kernels are kept for the graph diffusion and the interlaced attention.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .registry import AttentionCoreInterface
from .softmax import attention_block


def key_masked_attention_eager(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, key_mask: torch.Tensor, dropout_p: float = 0.0
) -> torch.Tensor:
    """Explicit softmax. Shapes as in :func:`key_masked_attention_sdpa`."""
    if key.shape[-2] == 0:
        return query.new_zeros(query.shape[:-1] + value.shape[-1:])
    return attention_block(query, key, value, key_mask[:, None, None, :], query.shape[-1] ** -0.5, dropout_p)


def key_masked_attention_sdpa(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, key_mask: torch.Tensor, dropout_p: float = 0.0
) -> torch.Tensor:
    """Dense attention over real keys.

    Args:
        query: ``[batch, heads, queries, head_dim]``; key, value: ``[batch, heads, keys, head_dim]``.
        key_mask: ``[batch, keys]`` bool, True = real key.

    Returns:
        ``[batch, heads, queries, head_dim]``; a sample with no real key gets zeros, never NaN.
    """
    if key.shape[-2] == 0:
        return query.new_zeros(query.shape[:-1] + value.shape[-1:])
    has_key = key_mask.any(dim=-1)[:, None, None, None]
    # An all-False row makes SDPA return NaN: let such samples attend anywhere, then zero them.
    mask = (key_mask | ~key_mask.any(dim=-1, keepdim=True))[:, None, None, :]
    output = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout_p)
    return torch.where(has_key, output, torch.zeros_like(output))


class KeyMaskedAttentionInterface(AttentionCoreInterface):
    """The Q-Former core's backends; "triton" and "flex_attention" run sdpa (see the module docstring)."""

    core = "key_masked"
    _global_mapping = {"eager": key_masked_attention_eager, "sdpa": key_masked_attention_sdpa}
    _aliases = {"triton": "sdpa", "flex_attention": "sdpa"}
