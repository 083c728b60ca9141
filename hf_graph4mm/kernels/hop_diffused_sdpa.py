"""Hop-Diffused Attention on ``torch.nn.functional.scaled_dot_product_attention``.

``A Z`` is exactly one SDPA call with ``Z`` as the value and the adjacency as the boolean
mask, so the K diffusion steps are K calls, each with the previous hop as its value:
the attention matrix ``A`` is never materialised by us (SDPA's fused CPU/GPU kernels
work block by block) and no matrix power is ever formed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .backends import register_backend
from .hop_diffused import diffusion_weights


def hop_diffused_attention_sdpa(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    adjacency: torch.Tensor,
    alpha: float,
    num_steps: int,
    scaling: float | None = None,
) -> torch.Tensor:
    """Same contract and numbers as :func:`~.hop_diffused.hop_diffused_attention_eager`.

    Args:
        query, key, value: ``[batch, heads, nodes, head_dim]``.
        adjacency: ``[batch, nodes, nodes]`` bool, True where the row node may attend the column node.

    Returns:
        ``[batch, heads, nodes, head_dim]``, zero on rows with no allowed entry.
    """
    weights = diffusion_weights(alpha, num_steps)
    row_has_edge = adjacency.any(dim=-1)  # [batch, nodes]
    # SDPA returns NaN for a fully masked row on some GPU paths. Opening such rows to every key keeps
    # it finite; their result is zeroed below after every step, which is what the eager reference
    # computes (an empty row of A is zero), so no padded row leaks into the next hop.
    attn_mask = (adjacency | ~row_has_edge[:, :, None])[:, None, :, :]  # [batch, 1, nodes, nodes]
    keep_row = row_has_edge[:, None, :, None]  # [batch, 1, nodes, 1]

    hop_value = value
    output = weights[0] * value
    for theta in weights[1:]:
        hop_value = F.scaled_dot_product_attention(query, key, hop_value, attn_mask=attn_mask, scale=scaling)
        hop_value = torch.where(keep_row, hop_value, torch.zeros_like(hop_value))
        output = output + theta * hop_value
    return torch.where(keep_row, output, torch.zeros_like(output))


register_backend("hop_diffused", "sdpa", hop_diffused_attention_sdpa)
