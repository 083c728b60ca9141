"""The structure modules applied to a subgraph's node embeddings before the MM-QFormer.

All share one call signature, so the model picks one per subgraph from the config:

    forward(hidden [batch, nodes, dim], node_mask [batch, nodes], adjacency [batch, nodes, nodes],
            hops [batch, nodes]) -> [batch, nodes, dim]

Padded node slots come out as zeros. Hop-Diffused Attention runs the backend named by
``config._attn_implementation`` (looked up in this module's own table, never transformers'
global one), read at every call so ``model.set_attn_implementation`` takes effect at once.
"""

from __future__ import annotations

import torch
from torch import nn

from ...kernels import HopDiffusedAttentionInterface, diffusion_weights

HOP_DIFFUSED_ATTENTION_FUNCTIONS = HopDiffusedAttentionInterface()


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

    Args:
        config: a :class:`Graph4MMConfig` (sizes from its ``qformer_config``; ``diffusion_*``;
            the backend from its ``_attn_implementation``).
    """

    def __init__(self, config):
        super().__init__()
        hidden_size = config.qformer_config.hidden_size
        num_heads = config.qformer_config.num_attention_heads
        if hidden_size % num_heads != 0:
            raise ValueError(f"hidden size {hidden_size} is not divisible by {num_heads} heads")
        self.config = config
        self.num_heads = num_heads
        self.alpha = config.diffusion_alpha
        self.num_steps = config.diffusion_steps
        # Truncating the series after K terms leaves weights summing to 1 - (1-alpha)^(K+1) < 1;
        # dividing by that sum makes calA a convex combination of the hop aggregates.
        weights = diffusion_weights(self.alpha, self.num_steps)
        self.weight_scale = 1.0 / sum(weights) if config.diffusion_normalize_weights else 1.0
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)

    def _project(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(query, key)``, each ``[batch, nodes, dim]``.

        With at least as many node rows as the width, one GEMM against the two weights concatenated
        (the weights stay two Linear modules: checkpoints unchanged). Below that the concatenation, a
        ``2 d x d`` copy made again for every call and again for its gradient, outweighs the
        activations (it raised a B8 x N12 step's peak 19% above the published module's), so the two
        projections run apart.
        """
        rows = hidden.numel() // hidden.shape[-1]
        if rows < hidden.shape[-1]:
            return self.query(hidden), self.key(hidden)
        weight = torch.cat([self.query.weight, self.key.weight])
        bias = torch.cat([self.query.bias, self.key.bias])
        query, key = torch.nn.functional.linear(hidden, weight, bias).chunk(2, dim=-1)
        return query, key

    def _diffused_heads(self, hidden: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """``sum_i theta_i A^i H`` merged back to ``[batch, nodes, dim]``, before the weight renormalisation."""
        attention = HOP_DIFFUSED_ATTENTION_FUNCTIONS.get_interface(self.config._attn_implementation)
        query, key = self._project(hidden)
        query, key = split_heads(query, self.num_heads), split_heads(key, self.num_heads)
        value = split_heads(hidden, self.num_heads)
        return merge_heads(attention(query, key, value, adjacency, self.alpha, self.num_steps))

    def diffuse(self, hidden: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """``calA H``: ``[batch, nodes, dim]`` -> ``[batch, nodes, dim]`` (zero on rows without edges)."""
        return self._diffused_heads(hidden, adjacency) * self.weight_scale

    def forward(self, hidden, node_mask, adjacency, hops):
        # H + scale * diffused in one pass over the node states
        output = torch.add(hidden, self._diffused_heads(hidden, adjacency), alpha=self.weight_scale)
        # on CPU a host check is free: a batch without padded nodes skips a pass (and its backward)
        if output.device.type == "cpu" and bool(node_mask.all()):
            return output
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

    def forward(self, hidden, node_mask, adjacency, hops):
        output = hidden + self.hop_embeddings(self.hop_index(hops))
        return output * node_mask[..., None].to(output.dtype)


class NoStructure(nn.Module):
    """The "none" variant and the ablations: node embeddings pass through unchanged."""

    def forward(self, hidden, node_mask, adjacency, hops):
        return hidden * node_mask[..., None].to(hidden.dtype)


def build_structure_module(config, enabled: bool) -> nn.Module:
    """The structure module a :class:`Graph4MMConfig` asks for on one subgraph."""
    if not enabled or config.structure == "none":
        return NoStructure()
    if config.structure == "hop_aware":
        return HopAwareEmbedding(config.qformer_config.hidden_size, config.max_hops)
    return HopDiffusedAttention(config)
