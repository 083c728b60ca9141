"""The structure modules applied to a subgraph's node states before the MM-QFormer.

The model builds one per subgraph at construction (:func:`build_structure_module`); all share one
call, ``module(hidden, subgraph) -> [batch, nodes, dim]``, with ``hidden [batch, nodes, dim]`` zero
on padded node slots and ``subgraph`` the modality's :class:`~hf_graph4mm.graph_batch.SubgraphInputs`.
Padded slots come out zero too.
"""

from __future__ import annotations

import torch
from torch import nn

from ...graph_batch import SubgraphInputs
from ...kernels import HopDiffusedAttentionInterface, diffusion_weights
from ..attention_parts import ResolvesBackend

# This model's own table of backends (never transformers' global one), read when the backend is set.
HOP_DIFFUSED_ATTENTION_FUNCTIONS = HopDiffusedAttentionInterface()


def split_heads(tensor: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``[batch, length, heads * head_dim]`` -> ``[batch, heads, length, head_dim]``."""
    batch, length, width = tensor.shape
    return tensor.view(batch, length, num_heads, width // num_heads).transpose(1, 2)


def merge_heads(tensor: torch.Tensor) -> torch.Tensor:
    """``[batch, heads, length, head_dim]`` -> ``[batch, length, heads * head_dim]``."""
    batch, heads, length, head_dim = tensor.shape
    return tensor.transpose(1, 2).reshape(batch, length, heads * head_dim)


class HopDiffusedAttention(ResolvesBackend, nn.Module):
    """``H <- H + calA H`` with ``calA = sum_{i=0..K} theta_i A^i`` (paper eq. 1-4).

    The attention ``A`` is computed from learned query/key projections of ``H`` and masked
    to the subgraph's edges before the softmax; it diffuses ``H`` itself (the value is the
    identity, split into heads), as in the paper's ``calA H``.

    Args:
        config: a :class:`Graph4MMConfig` (sizes from its ``qformer_config``; ``diffusion_*``;
            the backend from its ``_attn_implementation``).
    """

    backends = HOP_DIFFUSED_ATTENTION_FUNCTIONS

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
        self.refresh_backend()

    def _project(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(query, key)``, each ``[batch, nodes, dim]``.

        With at least as many node rows as the width, one GEMM against the two weights concatenated
        (the weights stay two Linear modules: checkpoints unchanged). Below that, the concatenation (a
        ``2 d x d`` copy made for every call and again for its gradient) outweighs the activations, so
        the two projections run apart. A traced graph (torch.compile / torch.export) always runs them apart:
        the choice would tie the graph to the batch size, and the compiler schedules the GEMMs itself.
        """
        rows = hidden.numel() // hidden.shape[-1]
        if torch.compiler.is_compiling() or rows < hidden.shape[-1]:
            return self.query(hidden), self.key(hidden)
        weight = torch.cat([self.query.weight, self.key.weight])
        bias = torch.cat([self.query.bias, self.key.bias])
        query, key = torch.nn.functional.linear(hidden, weight, bias).chunk(2, dim=-1)
        return query, key

    def diffuse(self, hidden: torch.Tensor, subgraph: SubgraphInputs) -> torch.Tensor:
        """``calA H``: ``[batch, nodes, dim]`` -> ``[batch, nodes, dim]`` (zero on padded rows)."""
        attention = self.resolved_attention()
        query, key = self._project(hidden)
        query, key = split_heads(query, self.num_heads), split_heads(key, self.num_heads)
        value = split_heads(hidden, self.num_heads)
        diffused = attention(
            query, key, value, subgraph.adjacency, self.alpha, self.num_steps, row_mask=subgraph.node_mask
        )
        return merge_heads(diffused)

    def forward(self, hidden: torch.Tensor, subgraph: SubgraphInputs) -> torch.Tensor:
        if subgraph.adjacency is None:
            raise ValueError(
                f"{subgraph.modality}_adjacency is required: the {subgraph.modality} subgraph uses "
                "Hop-Diffused Attention"
            )
        # padded rows: zero in, zero diffused (no edge), so zero out
        return torch.add(hidden, self.diffuse(hidden, subgraph), alpha=self.weight_scale)


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

    def forward(self, hidden: torch.Tensor, subgraph: SubgraphInputs) -> torch.Tensor:
        if subgraph.hops is None:
            raise ValueError(
                f"{subgraph.modality}_hops is required: the {subgraph.modality} subgraph uses Hop-Aware embeddings"
            )
        output = hidden + self.hop_embeddings(self.hop_index(subgraph.hops))
        return output * subgraph.node_mask[..., None].to(output.dtype)


class HopDiffusedAwareAttention(nn.Module):
    """Hop-Aware then Hop-Diffused: ``H' = H + E[hop]``, then ``H' + calA' H'`` (``calA'`` computed from ``H'``).

    The hop embeddings are added before the diffusion, so the attention that steers the diffusion
    sees each node's hop distance too, and the diffused states carry it. Needs the subgraph's
    ``hops`` and ``adjacency``. ``[batch, nodes, dim]`` -> ``[batch, nodes, dim]``, zero on padded slots.
    """

    def __init__(self, config):
        super().__init__()
        self.hop_aware = HopAwareEmbedding(config.qformer_config.hidden_size, config.max_hops)
        self.hop_diffused = HopDiffusedAttention(config)

    def forward(self, hidden: torch.Tensor, subgraph: SubgraphInputs) -> torch.Tensor:
        return self.hop_diffused(self.hop_aware(hidden, subgraph), subgraph)


class NoStructure(nn.Module):
    """The "none" variant and the ablations: node states pass through unchanged."""

    def forward(self, hidden: torch.Tensor, subgraph: SubgraphInputs) -> torch.Tensor:
        return hidden


def build_structure_module(config, enabled: bool) -> nn.Module:
    """The structure module a :class:`Graph4MMConfig` asks for on one subgraph."""
    if not enabled or config.structure == "none":
        return NoStructure()
    if config.structure == "hop_aware":
        return HopAwareEmbedding(config.qformer_config.hidden_size, config.max_hops)
    if config.structure == "hop_diffused_aware":
        return HopDiffusedAwareAttention(config)
    return HopDiffusedAttention(config)
