"""Hop-Diffused Attention: graph-masked attention, diffused over K hops.

    A     = softmax_j(q_i . k_j * scaling), restricted to j in N(i) *before* the softmax
    out   = sum_{i=0..K} alpha (1 - alpha)^i A^i V

computed iteratively (Z_0 = V, Z_{i+1} = A Z_i): O(K N^2 d), never a matrix power.
A row with no allowed key at all (a padded node: real nodes have self-loops) is not
part of the graph, so its whole output row is zero, the i = 0 term included.

One file per backend (``eager``, ``sdpa``, ``triton``, ``flex``); this package holds the
core's backend table (:class:`HopDiffusedAttentionInterface`) and the checked functional API.
Every backend takes ``(query, key, value, adjacency, alpha, num_steps, scaling=None,
row_mask=None)``; ``row_mask`` is ``adjacency.any(-1)`` when the caller already has it.
"""

from __future__ import annotations

import torch

from ..registry import AttentionCoreInterface
from .diffusion import diffusion_weights
from .eager import hop_diffused_attention_eager
from .sdpa import hop_diffused_attention_sdpa

__all__ = [
    "HopDiffusedAttentionInterface",
    "diffusion_weights",
    "hop_diffused_attention",
    "hop_diffused_attention_eager",
    "hop_diffused_attention_sdpa",
]


class HopDiffusedAttentionInterface(AttentionCoreInterface):
    """The hop-diffused core's backends. All four compute the same numbers."""

    core = "hop_diffused"
    _global_mapping = {
        "eager": hop_diffused_attention_eager,
        "sdpa": hop_diffused_attention_sdpa,
        "triton": ".hop_diffused.triton:hop_diffused_attention_triton",
        "flex_attention": ".hop_diffused.flex:hop_diffused_attention_flex",
    }


def hop_diffused_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    adjacency: torch.Tensor,
    alpha: float,
    num_steps: int,
    implementation: str = "eager",
    scaling: float | None = None,
) -> torch.Tensor:
    """Graph-masked attention diffused over ``num_steps`` hops (the checked functional API).

    Args:
        query, key, value: ``[batch, heads, nodes, head_dim]``.
        adjacency: ``[batch, nodes, nodes]`` bool, True where row node may attend column
            node. Per sample: nothing is shared across the batch.
        alpha: teleport weight in (0, 1).
        num_steps: K, the truncation of the diffusion series.
        implementation: "eager" (dense reference), "sdpa", "triton" or "flex_attention".
        scaling: score scale, default ``1 / sqrt(head_dim)``.

    Returns:
        ``[batch, heads, nodes, head_dim]``: ``sum_{i=0..K} alpha (1-alpha)^i A^i value``,
        zero on rows with no allowed entry.
    """
    if adjacency.dtype != torch.bool:
        raise TypeError(f"adjacency must be a bool tensor, got {adjacency.dtype}")
    if adjacency.dim() != 3 or adjacency.shape[0] != query.shape[0] or adjacency.shape[-1] != key.shape[-2]:
        raise ValueError(
            f"adjacency must be [batch, nodes, nodes] = [{query.shape[0]}, {query.shape[-2]}, {key.shape[-2]}], "
            f"got {list(adjacency.shape)}"
        )
    backend = HopDiffusedAttentionInterface().get_interface(implementation)
    return backend(query, key, value, adjacency, alpha, num_steps, scaling=scaling)
