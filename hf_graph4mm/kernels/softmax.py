"""Row softmax over allowed entries, and explicit attention of one block: the math the eager references,
the Q-Former and the hop-diffused sdpa Function share."""

from __future__ import annotations

import torch

from .dropout import dropout


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
    # and two passes over the scores (and their backward) are skipped. Elsewhere (a GPU, or a graph
    # being traced by torch.compile / torch.export) no data-dependent branch.
    if query.device.type == "cpu" and not torch.compiler.is_compiling() and bool(has_any.all()):
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


