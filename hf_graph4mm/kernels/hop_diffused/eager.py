"""The eager reference of Hop-Diffused Attention: one masked softmax, then K products with the value."""

from __future__ import annotations

import math

import torch

from ..softmax import masked_attention_probs
from .diffusion import diffuse, diffusion_weights


def hop_diffused_attention_eager(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    adjacency: torch.Tensor,
    alpha: float,
    num_steps: int,
    scaling: float | None = None,
    row_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The dense reference. Shapes and arguments as in :func:`~hf_graph4mm.kernels.hop_diffused_attention`."""
    scaling = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
    probs = masked_attention_probs(query, key, adjacency[:, None], scaling)
    output = diffuse(probs, value, diffusion_weights(alpha, num_steps))
    if row_mask is None:
        row_mask = adjacency.any(dim=-1)
    return torch.where(row_mask[:, None, :, None], output, torch.zeros_like(output))
