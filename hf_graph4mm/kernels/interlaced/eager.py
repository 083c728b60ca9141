"""The eager reference of interlaced attention: an explicit masked softmax per allowed block.

Only the allowed ``T_s x T_pattern[s]`` score blocks are ever formed, never the ``T x T`` matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..softmax import attention_block, masked_attention_probs
from .layout import InterlacedLayout
from .patterns import concat_segments


def interlaced_attention_eager(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: InterlacedLayout,
    pattern: tuple[int, ...],
    scaling: float | None = None,
    dropout_p: float = 0.0,
    query_segment_lengths: Sequence[int] | None = None,
) -> torch.Tensor:
    """The reference. Shapes as in :func:`~hf_graph4mm.kernels.interlaced_attention`."""
    scaling = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
    lengths = list(layout.segment_lengths)
    queries = query.split(lengths if query_segment_lengths is None else list(query_segment_lengths), dim=-2)
    keys, values = (t.split(lengths, dim=-2) for t in (key, value))
    outputs = []
    for query_segment, key_segment in enumerate(pattern):
        if lengths[key_segment] == 0:
            outputs.append(query.new_zeros(queries[query_segment].shape[:-1] + value.shape[-1:]))
            continue
        key_mask = layout.segment_key_masks[key_segment]
        allowed = None if key_mask is None else key_mask[:, None, None, :]  # broadcast over heads and rows
        outputs.append(
            attention_block(queries[query_segment], keys[key_segment], values[key_segment], allowed, scaling, dropout_p)
        )
    return concat_segments(outputs)


def interlaced_attention_probs(
    query: torch.Tensor,
    key: torch.Tensor,
    layout: InterlacedLayout,
    pattern: tuple[int, ...],
    scaling: float | None = None,
) -> torch.Tensor:
    """The probabilities the reference attends with, as one ``[batch, heads, T, T]`` matrix (what a model
    returns for ``output_attentions``): zero outside each query segment's key segment and on padded keys.

    Args:
        query, key: ``[batch, heads, T, head_dim]``.
    """
    scaling = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
    batch, heads, total, _ = query.shape
    starts = [0]
    for length in layout.segment_lengths:
        starts.append(starts[-1] + length)
    probs = query.new_zeros(batch, heads, total, key.shape[-2])
    for query_segment, key_segment in enumerate(pattern):
        rows = slice(starts[query_segment], starts[query_segment + 1])
        columns = slice(starts[key_segment], starts[key_segment + 1])
        key_mask = layout.segment_key_masks[key_segment]
        allowed = None if key_mask is None else key_mask[:, None, None, :]
        probs[:, :, rows, columns] = masked_attention_probs(query[:, :, rows], key[:, :, columns], allowed, scaling)
    return probs
