"""Interlaced attention (GsiT): one shared attention over [text; vision; audio] with a block mask.

Segment ``s`` of the concatenated sequence attends only to segment ``pattern[s]``:

    forward  (1, 2, 0): text -> vision, vision -> audio, audio -> text
    backward (2, 0, 1): text -> audio,  vision -> text,  audio -> vision
    self     (0, 1, 2): each modality to itself

Blocked entries are -inf before the softmax; padded keys are blocked too; a query row
with no real key returns zeros.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .backends import get_backend, register_backend

NAMED_PATTERNS = {"forward": (1, 2, 0), "backward": (2, 0, 1), "self": (0, 1, 2)}


def resolve_pattern(pattern: str | Sequence[int], num_segments: int) -> tuple[int, ...]:
    """Turn "forward"/"backward"/"self" or a tuple into a validated tuple of key segments."""
    if isinstance(pattern, str):
        if pattern not in NAMED_PATTERNS:
            raise ValueError(
                f"unknown interlaced pattern {pattern!r}; use one of {sorted(NAMED_PATTERNS)} or a tuple"
            )
        pattern = NAMED_PATTERNS[pattern]
    pattern = tuple(int(p) for p in pattern)
    if len(pattern) != num_segments:
        raise ValueError(f"pattern {pattern} has {len(pattern)} entries for {num_segments} segments")
    for query_segment, key_segment in enumerate(pattern):
        if not 0 <= key_segment < num_segments:
            raise ValueError(
                f"pattern {pattern}: segment {query_segment} points to missing segment {key_segment}"
            )
    return pattern


def segment_ids(segment_lengths: Sequence[int], device=None) -> torch.Tensor:
    """``[T]`` long: the segment each position of the concatenated sequence belongs to."""
    lengths = torch.as_tensor(list(segment_lengths), dtype=torch.long, device=device)
    return torch.repeat_interleave(torch.arange(len(segment_lengths), device=device), lengths)


def interlaced_block_mask(
    segment_lengths: Sequence[int], pattern: Sequence[int], device=None
) -> torch.Tensor:
    """``[T, T]`` bool, True where query position i may attend key position j."""
    ids = segment_ids(segment_lengths, device)
    key_segment_of_query = torch.as_tensor(pattern, device=device)[ids]
    return key_segment_of_query[:, None] == ids[None, :]


def interlaced_attention_eager(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    segment_lengths: Sequence[int],
    pattern: tuple[int, ...],
    key_padding_mask: torch.Tensor | None = None,
    scaling: float | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """The dense reference: builds the whole ``[T, T]`` mask. Shapes as in :func:`interlaced_attention`."""
    scaling = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
    allowed = interlaced_block_mask(segment_lengths, pattern, query.device)[None, None]  # [1, 1, T, T]
    if key_padding_mask is not None:
        allowed = allowed & key_padding_mask[:, None, None, :]
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling
    scores = scores.masked_fill(~allowed, float("-inf"))
    has_any = allowed.any(dim=-1, keepdim=True)
    scores = torch.where(has_any, scores, torch.zeros_like(scores))
    probs = torch.softmax(scores, dim=-1)
    probs = torch.where(allowed, probs, torch.zeros_like(probs))
    if dropout_p > 0.0:
        probs = torch.nn.functional.dropout(probs, p=dropout_p, training=True)
    return torch.matmul(probs, value)


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
) -> torch.Tensor:
    """Block-masked attention over concatenated modality segments.

    Args:
        query, key, value: ``[batch, heads, T, head_dim]``, T = ``sum(segment_lengths)``.
        segment_lengths: the (padded) length of each segment, e.g. ``(T_text, T_vision, T_audio)``.
        pattern: for each query segment, the key segment it attends to; or "forward",
            "backward", "self".
        key_padding_mask: ``[batch, T]`` bool, True = real position.
        implementation: "eager" (dense reference), "sdpa" or "triton".
        scaling: score scale, default ``1 / sqrt(head_dim)``.
        dropout_p: attention-probability dropout (pass 0 at eval time).

    Returns:
        ``[batch, heads, T, head_dim]``; rows with no real key are zero.
    """
    segment_lengths = tuple(int(length) for length in segment_lengths)
    if any(length < 0 for length in segment_lengths):
        raise ValueError(f"segment lengths must be >= 0, got {segment_lengths}")
    total = sum(segment_lengths)
    if query.shape[-2] != total or key.shape[-2] != total:
        raise ValueError(
            f"sequence length {query.shape[-2]} (query) / {key.shape[-2]} (key) does not equal the sum "
            f"{total} of segment lengths {segment_lengths}"
        )
    if key_padding_mask is not None and (
        key_padding_mask.dtype != torch.bool or tuple(key_padding_mask.shape) != (query.shape[0], total)
    ):
        raise ValueError(
            f"key_padding_mask must be bool [batch, T] = [{query.shape[0]}, {total}], "
            f"got {key_padding_mask.dtype} {list(key_padding_mask.shape)}"
        )
    pattern = resolve_pattern(pattern, len(segment_lengths))
    backend = get_backend("interlaced", implementation)
    return backend(
        query, key, value, segment_lengths, pattern, key_padding_mask, scaling=scaling, dropout_p=dropout_p
    )


register_backend("interlaced", "eager", interlaced_attention_eager)
