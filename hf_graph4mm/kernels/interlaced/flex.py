"""The "flex_attention" backend of interlaced attention: torch's flex_attention with a block mask.

The mask is the Interlaced Mask and the key padding, as a ``mask_mod``: query position ``i``
may see key position ``j`` when ``pattern[segment(i)] == segment(j)`` and ``j`` is a real key.
``create_block_mask`` turns it into a block-sparse layout, so the blocked tiles are skipped
(a fully blocked row gives zeros, as the eager reference does). The block mask is built once per
layout and pattern (:meth:`InterlacedLayout.cached`): every layer of a pass reuses it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..flex_support import flex_attention_call, flex_fallback_reason, warn_flex_fallback
from .layout import InterlacedLayout
from .patterns import segment_ids
from .sdpa import interlaced_attention_sdpa


def interlaced_attention_flex(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: InterlacedLayout,
    pattern: tuple[int, ...],
    scaling: float | None = None,
    dropout_p: float = 0.0,
    query_segment_lengths: Sequence[int] | None = None,
) -> torch.Tensor:
    """Same contract and numbers as :func:`~.eager.interlaced_attention_eager`."""
    reason = flex_fallback_reason((query, key, value), dropout_p)
    if reason is not None:
        warn_flex_fallback("interlaced", reason)
        return interlaced_attention_sdpa(
            query, key, value, layout, pattern, scaling=scaling, dropout_p=dropout_p,
            query_segment_lengths=query_segment_lengths,
        )  # fmt: skip
    query_lengths = None if query_segment_lengths is None else tuple(query_segment_lengths)
    block_mask = layout.cached(
        ("flex_block_mask", tuple(pattern), query_lengths, query.shape[0], query.device),
        lambda: _block_mask(layout, pattern, query_lengths, query.shape[0], query.device),
    )
    return flex_attention_call(query, key, value, block_mask, scale=scaling)


def _block_mask(layout: InterlacedLayout, pattern, query_segment_lengths, batch: int, device):
    """The Interlaced Mask and the key padding as a flex ``BlockMask``."""
    from torch.nn.attention.flex_attention import create_block_mask

    total = layout.total
    ids = segment_ids(layout.segment_lengths, device)
    query_ids = ids if query_segment_lengths is None else segment_ids(query_segment_lengths, device)
    key_segment_of_query = torch.as_tensor(pattern, device=device)[query_ids]
    real = layout.key_padding_mask
    if real is None:
        real = torch.ones(batch, total, dtype=torch.bool, device=device)

    def mask_mod(b, h, q_idx, kv_idx):
        return (key_segment_of_query[q_idx] == ids[kv_idx]) & real[b, kv_idx]

    return create_block_mask(mask_mod, batch, None, query_ids.numel(), total, device=device)
