"""Attention math shared by several backends and by the Q-Former: no backend choice here.

* :func:`masked_attention_probs`: a row softmax over allowed entries only (empty rows: zeros);
* :func:`diffusion_weights`, :func:`diffuse`: the hop weights and the K products of Hop-Diffused Attention;
* :func:`dropout`, a faster draw of the same training-mode dropout;
* the Interlaced Mask's patterns and segment layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

NAMED_PATTERNS = {"forward": (1, 2, 0), "backward": (2, 0, 1), "self": (0, 1, 2)}


def masked_attention_probs(
    query: torch.Tensor, key: torch.Tensor, allowed: torch.Tensor, scaling: float
) -> torch.Tensor:
    """Row-softmax of scaled scores over allowed entries only.

    Args:
        query: ``[batch, heads, T_q, head_dim]``; key: ``[batch, heads, T_k, head_dim]``.
        allowed: bool, broadcastable to ``[batch, heads, T_q, T_k]`` (e.g. ``[batch, 1, T_q, T_k]``).

    Returns:
        ``[batch, heads, T_q, T_k]``; rows with no allowed entry are all zeros (not NaN).
    """
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling
    scores = scores.masked_fill(~allowed, float("-inf"))
    has_any = allowed.any(dim=-1, keepdim=True)
    scores = torch.where(has_any, scores, torch.zeros_like(scores))  # keep softmax finite on empty rows
    probs = torch.softmax(scores, dim=-1)
    return torch.where(allowed, probs, torch.zeros_like(probs))


def dropout(tensor: torch.Tensor, p: float) -> torch.Tensor:
    """Training-mode dropout with the keep mask drawn as ``rand_like(x) >= p`` (the same distribution).

    On CPU ``bernoulli_`` (what ``F.dropout`` draws with) is about twice as slow as a uniform draw
    and a compare; the mask kept for the backward is one byte per element.
    """
    if p == 0.0:
        return tensor
    if p == 1.0:
        return torch.zeros_like(tensor)
    keep = torch.rand_like(tensor) >= p
    return torch.where(keep, tensor * (1.0 / (1.0 - p)), torch.zeros((), dtype=tensor.dtype))


def diffusion_weights(alpha: float, num_steps: int) -> list[float]:
    """theta_i = alpha (1 - alpha)^i for i = 0..K (the truncated personalised-PageRank series)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"diffusion alpha must lie in (0, 1), got {alpha}")
    if num_steps < 0:
        raise ValueError(f"the number of diffusion steps must be >= 0, got {num_steps}")
    return [alpha * (1.0 - alpha) ** step for step in range(num_steps + 1)]


def diffuse(probs: torch.Tensor, value: torch.Tensor, weights: list[float]) -> torch.Tensor:
    """``sum_i weights[i] probs^i value`` by repeated products: probs ``[..., N, N]``, value ``[..., N, d]``."""
    hop_value = value
    output = weights[0] * value
    for theta in weights[1:]:
        hop_value = torch.matmul(probs, hop_value)
        output = output + theta * hop_value
    return output


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
