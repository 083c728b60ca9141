"""The "flex_attention" backend of interlaced attention: torch's flex_attention with a block mask.

The mask is the Interlaced Mask and the key padding, as a ``mask_mod``: query position ``i``
may see key position ``j`` when ``pattern[segment(i)] == segment(j)`` and ``j`` is a real key.
``create_block_mask`` turns it into a block-sparse layout, so the blocked tiles are skipped
(a fully blocked row gives zeros, as the eager reference does).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .flex_common import flex_attention_call, flex_fallback_reason, warn_flex_fallback
from .interlaced_sdpa import interlaced_attention_sdpa
from .primitives import segment_ids


def interlaced_attention_flex(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    segment_lengths: Sequence[int],
    pattern: tuple[int, ...],
    key_padding_mask: torch.Tensor | None = None,
    scaling: float | None = None,
    dropout_p: float = 0.0,
    query_segment_lengths: Sequence[int] | None = None,
) -> torch.Tensor:
    """Same contract and numbers as :func:`~.interlaced.interlaced_attention_eager`."""
    reason = flex_fallback_reason((query, key, value), dropout_p)
    if reason is not None:
        warn_flex_fallback("interlaced", reason)
        return interlaced_attention_sdpa(
            query, key, value, segment_lengths, pattern, key_padding_mask, scaling=scaling,
            dropout_p=dropout_p, query_segment_lengths=query_segment_lengths,
        )
    from torch.nn.attention.flex_attention import create_block_mask

    batch, _, query_total, _ = query.shape
    total = key.shape[-2]
    ids = segment_ids(segment_lengths, query.device)
    query_ids = ids if query_segment_lengths is None else segment_ids(query_segment_lengths, query.device)
    key_segment_of_query = torch.as_tensor(pattern, device=query.device)[query_ids]
    real = (
        torch.ones(batch, total, dtype=torch.bool, device=query.device)
        if key_padding_mask is None
        else key_padding_mask
    )

    def mask_mod(b, h, q_idx, kv_idx):
        return (key_segment_of_query[q_idx] == ids[kv_idx]) & real[b, kv_idx]

    block_mask = create_block_mask(mask_mod, batch, None, query_total, total, device=query.device)
    return flex_attention_call(query, key, value, block_mask, scale=scaling)
