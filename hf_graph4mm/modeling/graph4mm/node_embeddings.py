"""Turning each node of a subgraph into one vector with a frozen backbone.

Backbones run only on the real node slots (padding is never encoded), and the result is
scattered back into the padded ``[batch, nodes, dim]`` layout.
"""

from __future__ import annotations

import torch


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real positions only: ``hidden [n, length, dim]``, ``mask [n, length]`` -> ``[n, dim]``.

    A row without any real position gives zeros.
    """
    weights = mask.to(hidden.dtype)[..., None]
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def scatter_nodes(node_vectors: torch.Tensor, node_mask: torch.Tensor) -> torch.Tensor:
    """``[real_nodes, dim]`` (in row-major order of ``node_mask [batch, nodes]``) -> ``[batch, nodes, dim]``."""
    batch, nodes = node_mask.shape
    output = node_vectors.new_zeros(batch, nodes, node_vectors.shape[-1])
    output[node_mask] = node_vectors
    return output


def image_node_vectors(vision_model, pixel_values: torch.Tensor, node_mask: torch.Tensor) -> torch.Tensor:
    """Pooled vision embedding per image node.

    Args:
        pixel_values: ``[batch, image_nodes, 3, height, width]``.
        node_mask: ``[batch, image_nodes]`` bool.

    Returns:
        ``[batch, image_nodes, vision_dim]``, zeros on padded slots.
    """
    width = vision_model.config.hidden_size
    if not bool(node_mask.any()):
        return pixel_values.new_zeros(*node_mask.shape, width)
    dtype = next(vision_model.parameters()).dtype
    pooled = vision_model(pixel_values=pixel_values[node_mask].to(dtype)).pooler_output
    return scatter_nodes(pooled, node_mask)


def text_node_vectors(
    encoder, input_ids: torch.Tensor, attention_mask: torch.Tensor, node_mask: torch.Tensor
) -> torch.Tensor:
    """Masked mean of ``encoder``'s last hidden state over each text node's real tokens.

    Args:
        encoder: a transformer returning ``last_hidden_state`` (the LM's base model, or a text encoder).
        input_ids, attention_mask: ``[batch, text_nodes, tokens]``.
        node_mask: ``[batch, text_nodes]`` bool.

    Returns:
        ``[batch, text_nodes, hidden]``, zeros on padded slots.
    """
    width = encoder.config.hidden_size
    if not bool(node_mask.any()):
        return torch.zeros(*node_mask.shape, width, device=input_ids.device)
    ids = input_ids[node_mask]
    mask = attention_mask[node_mask]
    # Positions count real tokens only, so left- or right-padded node texts embed the same.
    position_ids = (mask.long().cumsum(-1) - 1).clamp(min=0)
    hidden = encoder(input_ids=ids, attention_mask=mask, position_ids=position_ids).last_hidden_state
    return scatter_nodes(masked_mean(hidden, mask), node_mask)
