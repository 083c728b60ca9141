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

from .backends import register_backend


def segment_bounds(segment_lengths: Sequence[int]) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` of each segment in the concatenated sequence."""
    bounds, start = [], 0
    for length in segment_lengths:
        bounds.append((start, start + length))
        start += length
    return bounds


def _segment_pair_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    key_is_real: torch.Tensor | None,
    scaling: float | None,
    dropout_p: float,
) -> torch.Tensor:
    """One block of the interlaced pattern.

    Args:
        query: ``[batch, heads, T_q, head_dim]``; key, value: ``[batch, heads, T_k, head_dim]``.
        key_is_real: ``[batch, T_k]`` bool or None (no padding).

    Returns:
        ``[batch, heads, T_q, head_dim]``; zero for samples whose keys are all padding.
    """
    if key.shape[-2] == 0:  # an empty key segment: nothing to attend to
        return query.new_zeros(query.shape[:-1] + value.shape[-1:])
    if key_is_real is None:
        return F.scaled_dot_product_attention(query, key, value, dropout_p=dropout_p, scale=scaling)
    sample_has_key = key_is_real.any(dim=-1)  # [batch]
    # A sample with no real key would be a fully masked row (NaN on some SDPA paths): let it see all
    # keys and zero its result, as the eager reference does.
    attn_mask = (key_is_real | ~sample_has_key[:, None])[:, None, None, :]  # [batch, 1, 1, T_k]
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
    bounds = segment_bounds(segment_lengths)
    outputs = []
    for query_segment, key_segment in enumerate(pattern):
        q_start, q_end = bounds[query_segment]
        k_start, k_end = bounds[key_segment]
        if q_end == q_start:
            continue
        key_is_real = None if key_padding_mask is None else key_padding_mask[:, k_start:k_end]
        outputs.append(
            _segment_pair_attention(
                query[:, :, q_start:q_end],
                key[:, :, k_start:k_end],
                value[:, :, k_start:k_end],
                key_is_real,
                scaling,
                dropout_p,
            )
        )
    if not outputs:  # T == 0
        return query.new_zeros(query.shape[:-1] + value.shape[-1:])
    return torch.cat(outputs, dim=-2)


register_backend("interlaced", "sdpa", interlaced_attention_sdpa)
