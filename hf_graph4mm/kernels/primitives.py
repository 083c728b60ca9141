"""Attention math shared by several backends and by the Q-Former: no backend choice here.

* :func:`masked_attention_probs`: a row softmax over allowed entries only (empty rows: zeros);
* :func:`attention_block`: explicit attention of one block, probabilities dropped out;
* :func:`diffusion_weights`, :func:`diffuse`: the hop weights, and the K hops of Hop-Diffused Attention
  applied to the value (``hop_diffused_autograd.horner_operator`` sums them into one matrix);
* :func:`dropout_keep`, :func:`dropout_mask`, :func:`dropout`, :func:`dropout_add`: training-mode dropout
  drawn fast on CPU;
* the Interlaced Mask's patterns and segment layout, and :func:`concat_segments` for its outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

NAMED_PATTERNS = {"forward": (1, 2, 0), "backward": (2, 0, 1), "self": (0, 1, 2)}


def masked_attention_probs(
    query: torch.Tensor, key: torch.Tensor, allowed: torch.Tensor | None, scaling: float
) -> torch.Tensor:
    """Row-softmax of scaled scores over allowed entries only.

    Args:
        query: ``[batch, heads, T_q, head_dim]``; key: ``[batch, heads, T_k, head_dim]``.
        allowed: bool, broadcastable to ``[batch, heads, T_q, T_k]`` (e.g. ``[batch, 1, T_q, T_k]``);
            None = everything allowed.

    Returns:
        ``[batch, heads, T_q, T_k]``; rows with no allowed entry are all zeros (not NaN).
    """
    # strided head views (split from a fused projection) make matmul slow on CPU; a copy is cheaper
    scores = torch.matmul(query.contiguous(), key.contiguous().transpose(-1, -2))
    # Where autograd does not record (inference, or inside an autograd Function's forward) the scores and
    # probabilities are edited in place: the same numbers without a new tensor per step.
    in_place = not scores.requires_grad
    scores = scores.mul_(scaling) if in_place else scores * scaling
    if allowed is None:
        return torch.softmax(scores, dim=-1)
    has_any = allowed.any(dim=-1, keepdim=True)
    fill = scores.masked_fill_ if in_place else scores.masked_fill
    # On CPU a host check is free: when every row has an allowed entry, -inf alone gives exact zeros
    # and two passes over the scores (and their backward) are skipped. Elsewhere: no device sync.
    if query.device.type == "cpu" and bool(has_any.all()):
        if bool(allowed.all()):
            return torch.softmax(scores, dim=-1)
        return torch.softmax(fill(~allowed, float("-inf")), dim=-1)
    scores = fill(~allowed, float("-inf"))
    if in_place:  # keep softmax finite on empty rows, then zero them
        probs = torch.softmax(scores.masked_fill_(~has_any, 0.0), dim=-1)
        return probs.masked_fill_(~allowed, 0.0)
    scores = torch.where(has_any, scores, torch.zeros_like(scores))
    probs = torch.softmax(scores, dim=-1)
    return torch.where(allowed, probs, torch.zeros_like(probs))


def attention_block(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    allowed: torch.Tensor | None,
    scaling: float,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Explicit attention of one block: ``dropout(masked_attention_probs) @ value`` -> ``[batch, heads, T_q, d_v]``."""
    return torch.matmul(dropout(masked_attention_probs(query, key, allowed, scaling), dropout_p), value)


# Dropout masks come from 16-bit uniform integers, four to each 64-bit draw: torch's CPU generator
# is serial, so one draw per element (``rand_like``, ``bernoulli_``) was a sixth of a GsiT step.
_MASK_LEVELS = 1 << 16
# Below this p the rounding to a multiple of 2^-16 would be > 0.8% of p: draw floats instead.
_MIN_QUANTISED_P = 1.0 / 256


def _draw(shape: tuple[int, ...], p: float, device) -> tuple[torch.Tensor, float, float]:
    """One dropout draw: ``(draws [shape], threshold, keep probability)``; an entry is kept where
    ``draws >= threshold``.

    For ``p >= 1/256`` the draws are 16-bit uniform levels (int16), four from each 64-bit random word,
    and the drop probability is ``p`` rounded to a multiple of ``2^-16``; below, uniform floats and ``p``
    itself.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must lie in [0, 1], got {p}")
    if p < _MIN_QUANTISED_P:
        return torch.rand(shape, device=device), p, 1.0 - p
    numel = 1
    for size in shape:
        numel *= size
    dropped_levels = round(p * _MASK_LEVELS)
    words = torch.empty((numel + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), None)
    levels = words.view(torch.int16)[:numel].view(shape)  # uniform on [-2^15, 2^15)
    return levels, dropped_levels - _MASK_LEVELS // 2, 1.0 - dropped_levels / _MASK_LEVELS


def dropout_keep(shape: Sequence[int], p: float, device=None) -> tuple[torch.Tensor, float]:
    """Which entries training-mode dropout keeps: ``(keep [shape] bool, keep probability)``.

    For ``p >= 1/256`` the drop probability is ``p`` rounded to a multiple of ``2^-16`` (off by at most
    ``7.6e-6``) and the returned keep probability is the rounded one, so dividing by it keeps the mean
    exact. Smaller ``p`` is drawn from floats, exactly.
    """
    draws, threshold, keep_probability = _draw(tuple(shape), p, device)
    return draws >= threshold, keep_probability


def dropout_mask(
    shape: Sequence[int], p: float, dtype: torch.dtype, device=None, scale: float = 1.0
) -> torch.Tensor:
    """Training-mode dropout as a multiplier: ``0`` with probability ``p``, else ``scale / (1 - p)``
    (``p`` as :func:`dropout_keep` rounds it, from the same draws; the mask's mean is exactly ``scale``).

    Returns:
        ``shape`` tensor of ``dtype``.
    """
    shape = tuple(shape)
    draws, threshold, keep_probability = _draw(shape, p, device)
    if keep_probability == 0.0:
        return torch.zeros(shape, dtype=dtype, device=device)
    mask = torch.empty(shape, dtype=dtype, device=device)
    torch.ge(draws, threshold, out=mask)  # compared straight into the mask's dtype: no bool pass
    return mask.mul_(scale / keep_probability)


def dropout(tensor: torch.Tensor, p: float, scale: float = 1.0) -> torch.Tensor:
    """Training-mode dropout of ``scale * tensor`` (``scale`` folded into the mask: one pass).

    The distribution is :func:`dropout_mask`'s; the mask kept for the backward is one multiplier per element.
    """
    if p == 0.0:
        return tensor if scale == 1.0 else tensor * scale
    return tensor * dropout_mask(tensor.shape, p, tensor.dtype, tensor.device, scale)


def dropout_add(residual: torch.Tensor, tensor: torch.Tensor, p: float) -> torch.Tensor:
    """``residual + dropout(tensor, p)`` in one pass (``addcmul`` with the mask)."""
    if p == 0.0:
        return residual + tensor
    return torch.addcmul(residual, tensor, dropout_mask(tensor.shape, p, tensor.dtype, tensor.device))


def concat_segments(outputs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-segment ``[batch, heads, T_s, d]`` outputs -> ``[batch, heads, T, d]``, laid out in memory as
    ``[batch, T, heads, d]``: the caller's merge of the heads (``transpose(1, 2)`` then ``reshape``) is then a
    view, not another copy of the sequence."""
    return torch.cat([output.transpose(1, 2) for output in outputs], dim=1).transpose(1, 2)


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
