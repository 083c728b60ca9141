"""Turning each node of a subgraph into one vector: frozen backbones on the real node slots only.

A batch pads every subgraph to ``N`` node slots; the backbones and the node projections run on the
real slots only (their rows, :func:`real_node_rows`) and the result is scattered back into the
padded ``[batch, nodes, dim]`` layout with zeros on padded slots. Inside a graph traced by
``torch.compile`` / ``torch.export`` the number of real slots is not known ahead of time, so every
slot runs and the padded ones are zeroed instead: the same numbers on the real slots.
"""

from __future__ import annotations

import torch


def real_node_rows(node_mask: torch.Tensor) -> torch.Tensor | None:
    """``[real]`` flat indices ``b * N + n`` of the real node slots; None when every slot is computed."""
    if torch.compiler.is_compiling():
        return None
    return node_mask.reshape(-1).nonzero().squeeze(1)


def gather_nodes(tensor: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
    """``[batch, nodes, ...]`` -> ``[rows, ...]``: the rows :func:`real_node_rows` chose."""
    flat = tensor.reshape(-1, *tensor.shape[2:])
    return flat if rows is None else flat.index_select(0, rows)


def scatter_nodes(vectors: torch.Tensor, rows: torch.Tensor | None, node_mask: torch.Tensor) -> torch.Tensor:
    """``[rows, dim]`` -> ``[batch, nodes, dim]``, zeros on padded slots."""
    batch, nodes = node_mask.shape
    if rows is None:
        padded = vectors.view(batch, nodes, -1)
        return torch.where(node_mask[..., None], padded, torch.zeros((), dtype=padded.dtype))
    output = vectors.new_zeros(batch * nodes, vectors.shape[-1])
    return output.index_copy(0, rows, vectors).view(batch, nodes, -1)


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real positions only: ``hidden [n, length, dim]``, ``mask [n, length]`` -> ``[n, dim]``.

    A row without any real position gives zeros.
    """
    weights = mask.to(hidden.dtype)[..., None]
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def image_node_outputs(vision_model, pixel_values: torch.Tensor):
    """The vision encoder's output for each image, ``[rows, 3, height, width]`` in: its ``pooler_output``
    ``[rows, vision_dim]`` is the node's vector (None for zero images)."""
    if pixel_values.shape[0] == 0:
        return None
    dtype = next(vision_model.parameters()).dtype
    return vision_model(pixel_values=pixel_values.to(dtype))


def text_node_vectors(encoder, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Masked mean of ``encoder``'s last hidden state over each node text's real tokens.

    Args:
        encoder: a transformer returning ``last_hidden_state`` (the LM's base model, or a text encoder).
        input_ids, attention_mask: ``[rows, tokens]``, one row per text node.

    Returns:
        ``[rows, hidden]``.
    """
    if input_ids.shape[0] == 0:
        return torch.zeros(0, encoder.config.hidden_size, device=input_ids.device)
    # Positions count real tokens only, so left- or right-padded node texts embed the same.
    position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    hidden = encoder(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids).last_hidden_state
    return masked_mean(hidden, attention_mask)
