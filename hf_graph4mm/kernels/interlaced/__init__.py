"""Interlaced attention (GsiT): one shared attention over [text; vision; audio] with a block mask.

Segment ``s`` of the concatenated sequence attends only to segment ``pattern[s]``
(:data:`~.patterns.NAMED_PATTERNS`: forward, backward, self). Blocked entries are -inf before the
softmax; padded keys are blocked too; a query row with no real key returns zeros.

One file per backend (``eager``, ``sdpa``, ``triton``, ``flex``); every backend takes
``(query, key, value, layout, pattern, scaling=None, dropout_p=0.0, query_segment_lengths=None)``
with an :class:`~.layout.InterlacedLayout` planned once per forward. This package holds the core's
backend table (:class:`InterlacedAttentionInterface`) and the checked functional API, which plans a
layout from a key padding mask.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..registry import AttentionCoreInterface
from .eager import interlaced_attention_eager, interlaced_attention_probs
from .layout import InterlacedLayout
from .patterns import NAMED_PATTERNS, interlaced_block_mask, resolve_pattern
from .sdpa import interlaced_attention_sdpa

__all__ = [
    "NAMED_PATTERNS",
    "InterlacedAttentionInterface",
    "InterlacedLayout",
    "interlaced_attention",
    "interlaced_attention_eager",
    "interlaced_attention_probs",
    "interlaced_attention_sdpa",
    "interlaced_block_mask",
    "resolve_pattern",
]


class InterlacedAttentionInterface(AttentionCoreInterface):
    """The interlaced core's backends. All four compute the same numbers (dropout's draws aside)."""

    core = "interlaced"
    _global_mapping = {
        "eager": interlaced_attention_eager,
        "sdpa": interlaced_attention_sdpa,
        "triton": ".interlaced.triton:interlaced_attention_triton",
        "flex_attention": ".interlaced.flex:interlaced_attention_flex",
    }


def interlaced_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    segment_lengths: Sequence[int],
    pattern: str | Sequence[int],
    key_padding_mask: torch.Tensor | None = None,
    implementation: str = "eager",
    scaling: float | None = None,
    dropout_p: float = 0.0,
    query_segment_lengths: Sequence[int] | None = None,
) -> torch.Tensor:
    """Block-masked attention over concatenated modality segments (the checked functional API).

    Args:
        query, key, value: ``[batch, heads, T, head_dim]``, T = ``sum(segment_lengths)``; with
            ``query_segment_lengths`` the query is ``[batch, heads, sum(query_segment_lengths), head_dim]``.
        segment_lengths: the (padded) length of each segment, e.g. ``(T_text, T_vision, T_audio)``.
        pattern: for each query segment, the key segment it attends to; or "forward",
            "backward", "self".
        key_padding_mask: ``[batch, T]`` bool, True = real position.
        implementation: "eager" (reference), "sdpa", "triton" or "flex_attention".
        scaling: score scale, default ``1 / sqrt(head_dim)``.
        dropout_p: attention-probability dropout (pass 0 at eval time).
        query_segment_lengths: when only some queries are wanted, how many each segment sends, in
            segment order (e.g. ``(1, 1, 1)``: one query per segment, as a head that reads one step
            of each modality needs); default ``segment_lengths``.

    Returns:
        ``[batch, heads, T_q, head_dim]`` (T_q = the query's length); rows with no real key are zero.
    """
    segment_lengths = tuple(int(length) for length in segment_lengths)
    if any(length < 0 for length in segment_lengths):
        raise ValueError(f"segment lengths must be >= 0, got {segment_lengths}")
    total = sum(segment_lengths)
    query_lengths = segment_lengths
    if query_segment_lengths is not None:
        query_lengths = tuple(int(length) for length in query_segment_lengths)
        if len(query_lengths) != len(segment_lengths) or any(length < 0 for length in query_lengths):
            raise ValueError(
                f"query_segment_lengths {query_lengths} must give one length >= 0 for each of the "
                f"{len(segment_lengths)} segments"
            )
    if query.shape[-2] != sum(query_lengths) or key.shape[-2] != total:
        raise ValueError(
            f"sequence length {query.shape[-2]} (query) / {key.shape[-2]} (key) does not equal the sum "
            f"{sum(query_lengths)} / {total} of segment lengths {query_lengths} / {segment_lengths}"
        )
    if key_padding_mask is not None and (
        key_padding_mask.dtype != torch.bool or tuple(key_padding_mask.shape) != (query.shape[0], total)
    ):
        raise ValueError(
            f"key_padding_mask must be bool [batch, T] = [{query.shape[0]}, {total}], "
            f"got {key_padding_mask.dtype} {list(key_padding_mask.shape)}"
        )
    pattern = resolve_pattern(pattern, len(segment_lengths))
    backend = InterlacedAttentionInterface().get_interface(implementation)
    layout = InterlacedLayout.from_key_padding_mask(segment_lengths, key_padding_mask)
    extra = {} if query_segment_lengths is None else {"query_segment_lengths": query_lengths}
    return backend(query, key, value, layout, pattern, scaling=scaling, dropout_p=dropout_p, **extra)
