"""Sequences for the causal LM: padding alignment, positions that ignore padding, the answer-token loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def left_align(tensor: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move every row's padding to the left: ``tensor [B, L, ...]`` (ids or embeddings), ``attention_mask [B, L]``.

    Generation and candidate scoring continue after the last position, which must be a real
    token; a stable sort on the mask keeps real tokens in order.
    """
    order = torch.argsort(attention_mask.to(torch.int8), dim=1, stable=True)
    index = order.view(*order.shape, *([1] * (tensor.dim() - 2))).expand_as(tensor)
    return torch.gather(tensor, 1, index), torch.gather(attention_mask, 1, order)


def is_right_padded(attention_mask: torch.Tensor) -> bool:
    """Whether some row ends in padding (a host check: generation has to move it left)."""
    return bool((attention_mask[:, -1] == 0).any())


def position_ids_from_mask(attention_mask: torch.Tensor, length: int | None = None) -> torch.Tensor:
    """Positions that count real tokens only, so left padding does not shift them (Llama needs this).

    ``attention_mask [B, past + length]`` covers the cached tokens too; the last ``length`` positions
    (default: all) are those of the tokens being fed.
    """
    positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    return positions if length is None else positions[:, -length:]


def answer_token_loss(
    logits: torch.Tensor,
    labels: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    num_items_in_batch: torch.Tensor | int | None = None,
    shift_labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """Next-token cross-entropy summed over answer tokens, divided by their count.

    Args:
        logits: ``[B, L, vocab]``.
        labels: ``[B, L]``, -100 everywhere but the answer tokens; position ``t`` is predicted by
            ``logits[:, t - 1]``.
        shift_labels: instead of ``labels``, targets already aligned with ``logits`` (position ``t``
            predicted by ``logits[:, t]``), as sequence / context parallelism hands out: a shard
            cannot shift its labels by itself, its last target lives on the next shard.
        num_items_in_batch: from Trainer, counted over the whole accumulated batch; replaces the
            local count so gradient accumulation averages per token, not per micro-batch.
    """
    if shift_labels is None:
        if attention_mask is not None:
            labels = labels.masked_fill(attention_mask == 0, -100)  # padding never counts
        shift_labels = F.pad(labels[:, 1:], (0, 1), value=-100)
    shift_labels = shift_labels.to(logits.device)
    total = F.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), shift_labels.reshape(-1), ignore_index=-100, reduction="sum"
    )
    if num_items_in_batch is None:
        count = (shift_labels != -100).sum()
    else:
        count = torch.as_tensor(num_items_in_batch, device=total.device)
    return total / count.clamp(min=1)
