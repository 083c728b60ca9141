"""Shape and dtype checks on a Graph4MM batch (docs/CONTRACTS.md), with errors naming the field."""

from __future__ import annotations

import torch


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def check_subgraph_inputs(
    prefix: str,
    batch_size: int,
    node_mask: torch.Tensor,
    adjacency: torch.Tensor | None,
    hops: torch.Tensor | None,
) -> None:
    """``{prefix}_node_mask [B, N]`` bool, ``{prefix}_adjacency [B, N, N]`` bool, ``{prefix}_hops [B, N]``."""
    _require(
        node_mask.dtype == torch.bool and node_mask.dim() == 2 and node_mask.shape[0] == batch_size,
        f"{prefix}_node_mask must be a bool tensor [batch={batch_size}, nodes], "
        f"got {node_mask.dtype} {list(node_mask.shape)}",
    )
    nodes = node_mask.shape[1]
    if adjacency is not None:
        _require(
            adjacency.dtype == torch.bool and tuple(adjacency.shape) == (batch_size, nodes, nodes),
            f"{prefix}_adjacency must be a bool tensor [{batch_size}, {nodes}, {nodes}], "
            f"got {adjacency.dtype} {list(adjacency.shape)}",
        )
        padded_edges = (adjacency & ~node_mask[:, :, None]) | (adjacency & ~node_mask[:, None, :])
        if bool(padded_edges.any()):
            sample, row, col = (int(i) for i in padded_edges.nonzero()[0])
            raise ValueError(
                f"{prefix}_adjacency of sample {sample} has an edge ({row}, {col}) touching a padded node slot"
            )
    if hops is not None:
        _require(
            tuple(hops.shape) == (batch_size, nodes) and not hops.is_floating_point(),
            f"{prefix}_hops must be an integer tensor [{batch_size}, {nodes}], got {hops.dtype} {list(hops.shape)}",
        )


def check_text_inputs(input_ids, attention_mask, node_mask, adjacency, hops, batch_size: int) -> None:
    _require(
        input_ids.dim() == 3 and input_ids.shape[0] == batch_size,
        f"text_input_ids must be [batch={batch_size}, text_nodes, tokens], got {list(input_ids.shape)}",
    )
    _require(
        attention_mask is not None and attention_mask.shape == input_ids.shape,
        f"text_attention_mask must have text_input_ids' shape {list(input_ids.shape)}, got "
        f"{None if attention_mask is None else list(attention_mask.shape)}",
    )
    _require(
        node_mask is not None and tuple(node_mask.shape) == tuple(input_ids.shape[:2]),
        f"text_node_mask must be [batch, text_nodes] = {list(input_ids.shape[:2])}, got "
        f"{None if node_mask is None else list(node_mask.shape)}",
    )
    check_subgraph_inputs("text", batch_size, node_mask, adjacency, hops)


def check_image_inputs(images, node_mask, adjacency, hops, batch_size: int) -> None:
    """``images``: ``pixel_values [B, Np, C, H, W]`` or precomputed ``image_embeds [B, Np, width]``."""
    _require(
        images.dim() in (3, 5) and images.shape[0] == batch_size,
        f"pixel_values must be [batch={batch_size}, image_nodes, channels, height, width] (or image_embeds "
        f"[batch, image_nodes, vision_width]), got {list(images.shape)}",
    )
    _require(
        node_mask is not None and tuple(node_mask.shape) == tuple(images.shape[:2]),
        f"image_node_mask must be [batch, image_nodes] = {list(images.shape[:2])}, got "
        f"{None if node_mask is None else list(node_mask.shape)}",
    )
    check_subgraph_inputs("image", batch_size, node_mask, adjacency, hops)


def placeholder_positions(input_ids: torch.Tensor, image_token_id: int | None, expected: int) -> torch.Tensor:
    """``[B, L]`` bool mask of the ``<image>`` placeholders; each sample must hold exactly ``expected``."""
    if image_token_id is None:
        raise ValueError(
            "config.image_token_id is None: set it to the tokenizer's id of the <image> placeholder token"
        )
    positions = input_ids == image_token_id
    counts = positions.sum(dim=1)
    wrong = (counts != expected).nonzero().flatten()
    if wrong.numel():
        sample = int(wrong[0])
        raise ValueError(
            f"sample {sample} of input_ids has {int(counts[sample])} <image> placeholder tokens "
            f"(id {image_token_id}); expected num_query_tokens = {expected} per sample"
        )
    return positions
