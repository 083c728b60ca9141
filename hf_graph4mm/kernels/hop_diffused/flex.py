"""The "flex_attention" backend of Hop-Diffused Attention: K flex_attention calls, one block mask.

Each diffusion step ``Z_{i+1} = A Z_i`` is one flex_attention call with ``Z_i`` as the value
and ``mask_mod(b, h, i, j) = adjacency[b, i, j]``; the block mask is built once per call and
shared by the K steps. Rows with no edge come out zero, as in the eager reference.
"""

from __future__ import annotations

import torch

from ..flex_support import flex_attention_call, flex_fallback_reason, warn_flex_fallback
from .diffusion import diffusion_weights
from .sdpa import hop_diffused_attention_sdpa


def hop_diffused_attention_flex(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    adjacency: torch.Tensor,
    alpha: float,
    num_steps: int,
    scaling: float | None = None,
    row_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Same contract and numbers as :func:`~.eager.hop_diffused_attention_eager`."""
    reason = flex_fallback_reason((query, key, value))
    if reason is not None:
        warn_flex_fallback("hop_diffused", reason)
        return hop_diffused_attention_sdpa(
            query, key, value, adjacency, alpha, num_steps, scaling=scaling, row_mask=row_mask
        )
    from torch.nn.attention.flex_attention import create_block_mask

    batch, _, nodes, _ = query.shape

    def mask_mod(b, h, q_idx, kv_idx):
        return adjacency[b, q_idx, kv_idx]

    block_mask = create_block_mask(mask_mod, batch, None, nodes, nodes, device=query.device)
    weights = diffusion_weights(alpha, num_steps)
    if row_mask is None:
        row_mask = adjacency.any(dim=-1)
    keep_row = row_mask[:, None, :, None]
    hop_value, output = value, weights[0] * value
    for theta in weights[1:]:
        hop_value = flex_attention_call(query, key, hop_value, block_mask, scale=scaling)
        output = output + theta * hop_value
    return torch.where(keep_row, output, torch.zeros_like(output))
