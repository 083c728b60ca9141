"""Interlaced attention on ``torch.nn.functional.scaled_dot_product_attention``.

The Interlaced Mask is block-structured: query segment ``s`` sees only key segment
``pattern[s]``. So instead of a ``[T, T]`` score matrix that is mostly ``-inf``, this
backend makes one SDPA call per (query segment, key segment) pair: the cost is
``sum_s T_s * T_pattern[s]`` instead of ``T^2``, and nothing of size ``T x T`` exists.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def _segment_pair_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    key_is_real: torch.Tensor | None,
    some_sample_has_no_key: bool,
    scaling: float | None,
    dropout_p: float,
) -> torch.Tensor:
    """One block of the interlaced pattern.

    Args:
        query: ``[batch, heads, T_q, head_dim]``; key, value: ``[batch, heads, T_k, head_dim]``.
        key_is_real: ``[batch, T_k]`` bool or None (no padding).
        some_sample_has_no_key: whether ``key_is_real`` has an all-False row.

    Returns:
        ``[batch, heads, T_q, head_dim]``; zero for samples whose keys are all padding.
    """
    if key.shape[-2] == 0:  # an empty key segment: nothing to attend to
        return query.new_zeros(query.shape[:-1] + value.shape[-1:])
    if key_is_real is None:
        return F.scaled_dot_product_attention(query, key, value, dropout_p=dropout_p, scale=scaling)
    if not some_sample_has_no_key:
        attn_mask = key_is_real[:, None, None, :]  # [batch, 1, 1, T_k]
        return F.scaled_dot_product_attention(
            query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, scale=scaling
        )
    # A sample with no real key would be a fully masked row (NaN on some SDPA paths): let it see all
    # keys and zero its result, as the eager reference does.
    sample_has_key = key_is_real.any(dim=-1)  # [batch]
    attn_mask = (key_is_real | ~sample_has_key[:, None])[:, None, None, :]
    output = F.scaled_dot_product_attention(
        query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, scale=scaling
    )
    return torch.where(sample_has_key[:, None, None, None], output, torch.zeros_like(output))


def interlaced_attention_sdpa(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    segment_lengths: Sequence[int],
    pattern: tuple[int, ...],
    key_padding_mask: torch.Tensor | None = None,
    scaling: float | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Same contract and numbers as :func:`~.interlaced.interlaced_attention_eager` (dropout aside).

    Args:
        query, key, value: ``[batch, heads, T, head_dim]``, T = ``sum(segment_lengths)``.
        key_padding_mask: ``[batch, T]`` bool, True = real position, or None.

    Returns:
        ``[batch, heads, T, head_dim]``; rows with no real key are zero.
    """
    lengths = list(segment_lengths)
    # split, not slicing: the backward of a split is one concatenation, while each slice's backward
    # would allocate a zero tensor of the full sequence and add into it.
    queries, keys, values = (t.split(lengths, dim=-2) for t in (query, key, value))
    if key_padding_mask is None:
        key_masks, segment_lacks_key = [None] * len(lengths), [False] * len(lengths)
    else:
        key_masks = key_padding_mask.split(lengths, dim=-1)
        # one host sync for all segments: which have a sample whose keys are all padding
        segment_lacks_key = torch.stack([~mask.any(dim=-1).all() for mask in key_masks]).tolist()
    outputs = [
        _segment_pair_attention(
            queries[query_segment],
            keys[key_segment],
            values[key_segment],
            key_masks[key_segment],
            segment_lacks_key[key_segment],
            scaling,
            dropout_p,
        )
        for query_segment, key_segment in enumerate(pattern)
    ]
    return torch.cat(outputs, dim=-2)

