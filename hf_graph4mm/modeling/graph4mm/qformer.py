"""MM-QFormer: learned queries that read the text subgraph (self-attention) and the visual subgraph
(cross-attention), after BLIP-2's Q-Former.

Per layer, on ``x = [queries ; text nodes]``:
    x       = LN(x + SelfAttention(x))                 text padding masked as keys
    queries = LN(queries + CrossAttention(queries, image nodes))   image padding masked
    x       = LN(x + FFN(x))
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.activations import ACT2FN

from ...kernels import KeyMaskedAttentionInterface
from ..attention_parts import ResolvesBackend
from .structure import merge_heads, split_heads

# Backend per ``qformer_config._attn_implementation`` (a plain name given to the model reaches it: see
# Graph4MMConfig), resolved when it is set; "triton" and "flex_attention" run sdpa, as
# KeyMaskedAttentionInterface states.
KEY_MASKED_ATTENTION_FUNCTIONS = KeyMaskedAttentionInterface()


class QFormerAttention(ResolvesBackend, nn.Module):
    """Multi-head attention with a key mask; ``key_states`` defaults to the queries (self-attention)."""

    backends = KEY_MASKED_ATTENTION_FUNCTIONS

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.num_heads = config.num_attention_heads
        self.dropout = config.attention_probs_dropout_prob
        width = config.hidden_size
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.output = nn.Linear(width, width)
        self.refresh_backend()

    def forward(self, hidden, key_states, key_mask):
        """hidden: ``[batch, queries, dim]``; key_states: ``[batch, keys, dim]``; key_mask: ``[batch, keys]``."""
        query = split_heads(self.query(hidden), self.num_heads)
        key = split_heads(self.key(key_states), self.num_heads)
        value = split_heads(self.value(key_states), self.num_heads)
        dropout = self.dropout if self.training else 0.0
        attended = self.resolved_attention()(query, key, value, key_mask, dropout)
        # A sample with no real key contributes nothing: not even the output projection's bias.
        has_key = key_mask.any(dim=-1)[:, None, None].to(attended.dtype)
        return self.output(merge_heads(attended)) * has_key


class QFormerLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        eps = config.layer_norm_eps
        self.self_attention = QFormerAttention(config)
        self.self_norm = nn.LayerNorm(config.hidden_size, eps=eps)
        self.cross_attention = QFormerAttention(config)
        self.cross_norm = nn.LayerNorm(config.hidden_size, eps=eps)
        self.ffn_in = nn.Linear(config.hidden_size, config.intermediate_size)
        self.activation = ACT2FN[config.hidden_act]
        self.ffn_out = nn.Linear(config.intermediate_size, config.hidden_size)
        self.ffn_norm = nn.LayerNorm(config.hidden_size, eps=eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, sequence, sequence_mask, image_nodes, image_mask, num_queries):
        """sequence: ``[batch, queries + text_nodes, dim]``; image_nodes: ``[batch, image_nodes, dim]``."""
        attended = self.self_attention(sequence, sequence, sequence_mask)
        sequence = self.self_norm(sequence + self.dropout(attended))
        queries, text_nodes = sequence[:, :num_queries], sequence[:, num_queries:]
        read = self.cross_attention(queries, image_nodes, image_mask)
        queries = self.cross_norm(queries + self.dropout(read))
        sequence = torch.cat([queries, text_nodes], dim=1)
        fed = self.ffn_out(self.activation(self.ffn_in(sequence)))
        return self.ffn_norm(sequence + self.dropout(fed))


class MMQFormer(nn.Module):
    """``num_queries`` learned queries -> ``[batch, num_queries, dim]`` after L layers."""

    def __init__(self, config, num_queries: int):
        super().__init__()
        self.num_queries = num_queries
        self.query_tokens = nn.Parameter(torch.zeros(num_queries, config.hidden_size))
        self.layers = nn.ModuleList(QFormerLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, text_nodes, text_mask, image_nodes, image_mask):
        """text_nodes: ``[batch, Nt, dim]``, text_mask: ``[batch, Nt]`` bool; same for image nodes."""
        batch = text_nodes.shape[0]
        queries = self.query_tokens[None].expand(batch, -1, -1).to(text_nodes.dtype)
        sequence = torch.cat([queries, text_nodes], dim=1)
        query_mask = torch.ones(batch, self.num_queries, dtype=torch.bool, device=text_mask.device)
        sequence_mask = torch.cat([query_mask, text_mask], dim=1)
        for layer in self.layers:
            sequence = layer(sequence, sequence_mask, image_nodes, image_mask, self.num_queries)
        return sequence[:, : self.num_queries]
