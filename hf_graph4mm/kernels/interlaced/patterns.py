"""The Interlaced Mask's patterns: which key segment each query segment attends to.

    forward  (1, 2, 0): text -> vision, vision -> audio, audio -> text
    backward (2, 0, 1): text -> audio,  vision -> text,  audio -> vision
    self     (0, 1, 2): each modality to itself
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

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


def concat_segments(outputs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-segment ``[batch, heads, T_s, d]`` outputs -> ``[batch, heads, T, d]``, laid out in memory as
    ``[batch, T, heads, d]``: the caller's merge of the heads (``transpose(1, 2)`` then ``reshape``) is then a
    view, not another copy of the sequence."""
    return torch.cat([output.transpose(1, 2) for output in outputs], dim=1).transpose(1, 2)
