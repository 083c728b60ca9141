"""The structure modules applied to a subgraph's node embeddings before the MM-QFormer.

All share one call signature, so the model picks one per subgraph from the config:

    forward(hidden [batch, nodes, dim], node_mask [batch, nodes], adjacency [batch, nodes, nodes],
            hops [batch, nodes], implementation) -> [batch, nodes, dim]

Padded node slots come out as zeros.
"""

from __future__ import annotations

import torch
from torch import nn

from ...kernels import diffusion_weights, hop_diffused_attention


def split_heads(tensor: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``[batch, length, heads * head_dim]`` -> ``[batch, heads, length, head_dim]``."""
    batch, length, width = tensor.shape
    return tensor.view(batch, length, num_heads, width // num_heads).transpose(1, 2)


def merge_heads(tensor: torch.Tensor) -> torch.Tensor:
    """``[batch, heads, length, head_dim]`` -> ``[batch, length, heads * head_dim]``."""
    batch, heads, length, head_dim = tensor.shape
    return tensor.transpose(1, 2).reshape(batch, length, heads * head_dim)


class HopDiffusedAttention(nn.Module):
    """``H <- H + calA H`` with ``calA = sum_{i=0..K} theta_i A^i`` (paper eq. 1-4).

    The attention ``A`` is computed from learned query/key projections of ``H`` and masked
    to the subgraph's edges before the softmax; it diffuses ``H`` itself (the value is the
    identity, split into heads), as in the paper's ``calA H``.
    """

    def __init__(
        self, hidden_size: int, num_heads: int, alpha: float, num_steps: int, normalize_weights: bool = True
    ):
        super().__init__()
        if hidden_size % num_heads != 0:
            raise ValueError(f"hidden size {hidden_size} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.alpha = alpha
        self.num_steps = num_steps
        # Truncating the series after K terms leaves weights summing to 1 - (1-alpha)^(K+1) < 1;
        # dividing by that sum makes calA a convex combination of the hop aggregates.
        self.weight_scale = 1.0 / sum(diffusion_weights(alpha, num_steps)) if normalize_weights else 1.0
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)

    def diffuse(
        self, hidden: torch.Tensor, adjacency: torch.Tensor, implementation: str = "eager"
    ) -> torch.Tensor:
        """``calA H``: ``[batch, nodes, dim]`` -> ``[batch, nodes, dim]`` (zero on rows without edges)."""
        query = split_heads(self.query(hidden), self.num_heads)
        key = split_heads(self.key(hidden), self.num_heads)
        value = split_heads(hidden, self.num_heads)
        diffused = hop_diffused_attention(
            query, key, value, adjacency, self.alpha, self.num_steps, implementation=implementation
        )
        return merge_heads(diffused) * self.weight_scale

    def forward(self, hidden, node_mask, adjacency, hops, implementation: str = "eager"):
        output = hidden + self.diffuse(hidden, adjacency, implementation)
        return output * node_mask[..., None].to(output.dtype)


class HopAwareEmbedding(nn.Module):
    """Adds a learned embedding of each node's hop distance: indices 0..max_hops, then "unreachable".

    A hop outside ``[0, max_hops]`` (e.g. -1 or a node beyond tau) uses the "unreachable" row.
    """

    def __init__(self, hidden_size: int, max_hops: int):
        super().__init__()
        self.max_hops = max_hops
        self.hop_embeddings = nn.Embedding(max_hops + 2, hidden_size)

    def hop_index(self, hops: torch.Tensor) -> torch.Tensor:
        reachable = (hops >= 0) & (hops <= self.max_hops)
        return torch.where(reachable, hops, torch.full_like(hops, self.max_hops + 1))

    def forward(self, hidden, node_mask, adjacency, hops, implementation: str = "eager"):
        output = hidden + self.hop_embeddings(self.hop_index(hops))
        return output * node_mask[..., None].to(output.dtype)


class NoStructure(nn.Module):
    """The "none" variant and the ablations: node embeddings pass through unchanged."""

    def forward(self, hidden, node_mask, adjacency, hops, implementation: str = "eager"):
        return hidden * node_mask[..., None].to(hidden.dtype)


def build_structure_module(config, enabled: bool) -> nn.Module:
    """The structure module a :class:`Graph4MMConfig` asks for on one subgraph."""
    width = config.qformer_config.hidden_size
    if not enabled or config.structure == "none":
        return NoStructure()
    if config.structure == "hop_aware":
        return HopAwareEmbedding(width, config.max_hops)
    return HopDiffusedAttention(
        width,
        config.qformer_config.num_attention_heads,
        config.diffusion_alpha,
        config.diffusion_steps,
        config.diffusion_normalize_weights,
    )
