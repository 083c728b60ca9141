"""Sequences for the causal LM: padding alignment, positions that ignore padding, the answer-token loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def left_align(embeds: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move every row's padding to the left (``embeds [B, L, D]``, ``attention_mask [B, L]``).

    Generation and candidate scoring continue after the last position, which must be a real
    token; a stable sort on the mask keeps real tokens in order.
    """
    order = torch.argsort(attention_mask.to(torch.int8), dim=1, stable=True)
    aligned = torch.gather(embeds, 1, order[..., None].expand_as(embeds))
    return aligned, torch.gather(attention_mask, 1, order)


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that count real tokens only, so left padding does not shift them (Llama needs this)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def answer_token_loss(logits, labels, attention_mask=None, num_items_in_batch=None) -> torch.Tensor:
    """Next-token cross-entropy summed over answer tokens, divided by their count.

    ``num_items_in_batch`` (from Trainer, counted over the whole accumulated batch) replaces the
    local count so gradient accumulation averages per token, not per micro-batch.
    """
    if attention_mask is not None:
        labels = labels.masked_fill(attention_mask == 0, -100)  # padding never counts
    shift_logits = logits[:, :-1].float()
    shift_labels = labels[:, 1:].to(logits.device)
    total = F.cross_entropy(
        shift_logits.reshape(-1, shift_logits.shape[-1]),
        shift_labels.reshape(-1),
        ignore_index=-100,
        reduction="sum",
    )
    if num_items_in_batch is None:
        count = (shift_labels != -100).sum()
    else:
        count = torch.as_tensor(num_items_in_batch, device=total.device)
    return total / count.clamp(min=1)
