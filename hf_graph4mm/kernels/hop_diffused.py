"""Hop-Diffused Attention: graph-masked attention, diffused over K hops.

    A     = softmax_j(q_i . k_j * scaling), restricted to j in N(i) *before* the softmax
    out   = sum_{i=0..K} alpha (1 - alpha)^i A^i V

computed iteratively (Z_0 = V, Z_{i+1} = A Z_i): O(K N^2 d), never a matrix power.
A row with no allowed key at all (a padded node: real nodes have self-loops) is not
part of the graph, so its whole output row is zero, the i = 0 term included.
"""

from __future__ import annotations

import math

import torch

from .backends import get_backend, register_backend


def diffusion_weights(alpha: float, num_steps: int) -> list[float]:
    """theta_i = alpha (1 - alpha)^i for i = 0..K (the truncated personalised-PageRank series)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"diffusion alpha must lie in (0, 1), got {alpha}")
    if num_steps < 0:
        raise ValueError(f"the number of diffusion steps must be >= 0, got {num_steps}")
    return [alpha * (1.0 - alpha) ** step for step in range(num_steps + 1)]


def masked_attention_probs(
    query: torch.Tensor, key: torch.Tensor, adjacency: torch.Tensor, scaling: float
) -> torch.Tensor:
    """``[batch, heads, nodes, nodes]`` row-softmax of scaled scores over allowed entries only.

    Rows with no allowed entry are all zeros (not NaN).
    """
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling
    allowed = adjacency[:, None, :, :]
    scores = scores.masked_fill(~allowed, float("-inf"))
    has_any = allowed.any(dim=-1, keepdim=True)
    scores = torch.where(has_any, scores, torch.zeros_like(scores))  # keep softmax finite on empty rows
    probs = torch.softmax(scores, dim=-1)
    return torch.where(allowed, probs, torch.zeros_like(probs))


def hop_diffused_attention_eager(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    adjacency: torch.Tensor,
    alpha: float,
    num_steps: int,
    scaling: float | None = None,
) -> torch.Tensor:
    """The dense reference. Shapes as in :func:`hop_diffused_attention`."""
    scaling = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
    probs = masked_attention_probs(query, key, adjacency, scaling)
    weights = diffusion_weights(alpha, num_steps)
    hop_value = value
    output = weights[0] * value
    for theta in weights[1:]:
        hop_value = torch.matmul(probs, hop_value)
        output = output + theta * hop_value
    row_has_edge = adjacency.any(dim=-1)[:, None, :, None]
    return torch.where(row_has_edge, output, torch.zeros_like(output))


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
    """Graph-masked attention diffused over ``num_steps`` hops.

    Args:
        query, key, value: ``[batch, heads, nodes, head_dim]``.
        adjacency: ``[batch, nodes, nodes]`` bool, True where row node may attend column
            node. Per sample: nothing is shared across the batch.
        alpha: teleport weight in (0, 1).
        num_steps: K, the truncation of the diffusion series.
        implementation: "eager" (dense reference), "sdpa" or "triton".
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
    backend = get_backend("hop_diffused", implementation)
    return backend(query, key, value, adjacency, alpha, num_steps, scaling=scaling)


register_backend("hop_diffused", "eager", hop_diffused_attention_eager)
