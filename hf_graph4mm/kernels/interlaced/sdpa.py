"""Interlaced attention on ``torch.nn.functional.scaled_dot_product_attention``.

The Interlaced Mask is block-structured: query segment ``s`` sees only key segment
``pattern[s]``. So instead of a ``[T, T]`` score matrix that is mostly ``-inf``, this
backend computes one block per (query segment, key segment) pair: the cost is
``sum_s T_s * T_pattern[s]`` instead of ``T^2``, and nothing of size ``T x T`` exists.

Each block takes the faster path for where it runs (:func:`segment_pair_path`):

* "sdpa": one fused SDPA call;
* "explicit" (CPU with attention dropout): scores, softmax, dropout, matmul, as the eager
  reference does, a few (batch x head) pairs at a time so the scores stay in cache, keeping only
  a boolean mask and one log-sum-exp per row for a recomputing backward (:mod:`.dropped`).
  On CPU, SDPA with ``dropout_p > 0`` leaves its fused kernel for a math path of the same steps
  whose mask is drawn one random number at a time (bernoulli) and whose autograd keeps three
  float tensors per block; ours draws four mask entries per random word
  (:func:`~hf_graph4mm.kernels.dropout.dropout_keep`). Timings: benchmarks/RESULTS.md.

Without dropout the fused kernel is kept on CPU too: an explicit path would need the strided q/k/v
head views copied, which SDPA reads in place (benchmarks/attention.py compares the two).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .dropped import dropped_attention
from .layout import InterlacedLayout
from .patterns import concat_segments


def segment_pair_path(device: torch.device, dropout_p: float) -> str:
    """"sdpa" or "explicit": what :func:`interlaced_attention_sdpa` runs for a block on ``device``."""
    return "explicit" if device.type == "cpu" and dropout_p > 0.0 else "sdpa"


def _segment_pair_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: InterlacedLayout,
    key_segment: int,
    scaling: float | None,
    dropout_p: float,
) -> torch.Tensor:
    """One block of the interlaced pattern: ``query`` against key segment ``key_segment``.

    Args:
        query: ``[batch, heads, T_q, head_dim]``; key, value: ``[batch, heads, T_k, head_dim]``.

    Returns:
        ``[batch, heads, T_q, head_dim]``; zero for samples whose keys are all padding.
    """
    if key.shape[-2] == 0:  # an empty key segment: nothing to attend to
        return query.new_zeros(query.shape[:-1] + value.shape[-1:])
    key_is_real = layout.segment_key_masks[key_segment]  # [batch, T_k] or None
    if segment_pair_path(query.device, dropout_p) == "explicit":
        scale = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
        return dropped_attention(query, key, value, key_is_real, dropout_p, scale)
    if key_is_real is None:
        return F.scaled_dot_product_attention(query, key, value, dropout_p=dropout_p, scale=scaling)
    if not layout.segment_lacks_key[key_segment]:
        attn_mask = key_is_real[:, None, None, :]  # [batch, 1, 1, T_k]
        return F.scaled_dot_product_attention(
            query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, scale=scaling
        )
    # A sample with no real key would be a fully masked row (NaN on some SDPA paths): let it see all
    # keys and zero its result, as the eager reference does.
    sample_has_key, attn_mask = layout.cached(("sdpa_open_rows", key_segment), lambda: _open_empty_rows(key_is_real))
    output = F.scaled_dot_product_attention(
        query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, scale=scaling
    )
    return torch.where(sample_has_key, output, torch.zeros_like(output))


def _open_empty_rows(key_is_real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``([batch, 1, 1, 1]`` samples with a real key, ``[batch, 1, 1, T_k]`` mask opening the others to all keys)."""
    sample_has_key = key_is_real.any(dim=-1)
    return sample_has_key[:, None, None, None], (key_is_real | ~sample_has_key[:, None])[:, None, None, :]


def interlaced_attention_sdpa(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: InterlacedLayout,
    pattern: tuple[int, ...],
    scaling: float | None = None,
    dropout_p: float = 0.0,
    query_segment_lengths: Sequence[int] | None = None,
) -> torch.Tensor:
    """Same contract and numbers as :func:`~.eager.interlaced_attention_eager` (dropout aside).

    Args:
        query: ``[batch, heads, T_q, head_dim]``, T_q = ``sum(query_segment_lengths)``;
            key, value: ``[batch, heads, T, head_dim]``, T = ``sum(layout.segment_lengths)``.
        query_segment_lengths: how many queries each segment has (default the layout's: all).

    Returns:
        ``[batch, heads, T_q, head_dim]``; rows with no real key are zero.
    """
    lengths = list(layout.segment_lengths)
    query_lengths = lengths if query_segment_lengths is None else list(query_segment_lengths)
    # split, not slicing: the backward of a split is one concatenation, while each slice's backward
    # would allocate a zero tensor of the full sequence and add into it.
    queries = query.split(query_lengths, dim=-2)
    keys, values = (t.split(lengths, dim=-2) for t in (key, value))
    outputs = [
        _segment_pair_attention(
            queries[query_segment], keys[key_segment], values[key_segment], layout, key_segment, scaling, dropout_p
        )
        for query_segment, key_segment in enumerate(pattern)
    ]
    return concat_segments(outputs)
