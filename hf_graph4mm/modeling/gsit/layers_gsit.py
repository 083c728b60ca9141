"""Building blocks shared by GsiT and MulT: conv projection, attention, pre-LN layer, encoder.

Both models use the same layer design (MulT's): pre-LN attention and GELU FFN with
residuals, a final LayerNorm, inputs scaled by sqrt(width), no positional embedding.
They differ only in how the attention picks its keys:

- interlaced (GsiT): queries and keys come from ONE concatenated sequence
  [text; vision; audio]; a segment pattern says which segment each segment attends to;
- dense (MulT): queries from one modality, keys/values from another (or the same).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...kernels import interlaced_attention
from .configuration_gsit import GsiTConfig


def lengths_after_conv(lengths: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Real lengths after an unpadded Conv1d: ``max(length - kernel_size + 1, 1)``.

    A sample shorter than the kernel (even an empty one) keeps ONE step: the conv over its
    real steps followed by zeros (padding is zeroed before the conv), so every modality of
    every sample has a real last step for the head and a real key for the attention.
    """
    return (lengths - kernel_size + 1).clamp(min=1)


class GsiTModalityProjection(nn.Module):
    """Conv1d (no padding, no bias) from one modality's features to the model width."""

    def __init__(self, feature_dim: int, hidden_size: int, kernel_size: int):
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(feature_dim, hidden_size, kernel_size=kernel_size, padding=0, bias=False)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Project and shorten.

        Args:
            features: ``[batch, time, feature_dim]``, right-padded.
            lengths: ``[batch]`` long, real steps per sample.

        Returns:
            ``[batch, max(time, kernel) - kernel + 1, hidden_size]`` and the new real lengths ``[batch]``.
        """
        real = torch.arange(features.shape[1], device=features.device)[None, :] < lengths[:, None]
        # Zero the padding (where, not multiply: MMSA audio may hold -inf there) so that what a
        # short sample's conv window sees does not depend on how it was padded.
        features = torch.where(real[..., None], features, torch.zeros((), dtype=features.dtype))
        if features.shape[1] < self.kernel_size:
            features = F.pad(features, (0, 0, 0, self.kernel_size - features.shape[1]))
        projected = self.conv(features.transpose(1, 2)).transpose(1, 2)
        return projected, lengths_after_conv(lengths, self.kernel_size)


class GsiTAttention(nn.Module):
    """Multi-head attention whose Q/K/V/O projections are shared by every modality it serves."""

    def __init__(self, config: GsiTConfig, width: int):
        super().__init__()
        self.config = config
        self.num_heads = config.num_attention_heads
        self.head_dim = width // config.num_attention_heads
        self.dropout = config.attention_dropout
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.o_proj = nn.Linear(width, width)

    def _split_heads(self, states: torch.Tensor) -> torch.Tensor:
        """``[batch, time, width]`` -> ``[batch, heads, time, head_dim]``."""
        batch, time, _ = states.shape
        return states.view(batch, time, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        hidden_states: torch.Tensor,
        key_value_states: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        segment_lengths: Sequence[int] | None = None,
        pattern: str | Sequence[int] | None = None,
    ) -> torch.Tensor:
        """Attend.

        Args:
            hidden_states: queries' input ``[batch, time_q, width]``.
            key_value_states: keys' input ``[batch, time_k, width]`` (dense mode; default: the queries').
            key_padding_mask: ``[batch, time_k]`` bool, True = real key.
            segment_lengths, pattern: interlaced mode: ``hidden_states`` is the concatenation of
                segments of these lengths and segment ``s`` attends only to segment ``pattern[s]``
                (through ``hf_graph4mm.kernels.interlaced_attention`` and the backend named by
                ``config._attn_implementation``).

        Returns:
            ``[batch, time_q, width]``.
        """
        keys_from = hidden_states if key_value_states is None else key_value_states
        query = self._split_heads(self.q_proj(hidden_states))
        key = self._split_heads(self.k_proj(keys_from))
        value = self._split_heads(self.v_proj(keys_from))
        dropout_p = self.dropout if self.training else 0.0
        if pattern is not None:
            if key_value_states is not None:
                raise ValueError(
                    "interlaced attention takes its keys from hidden_states; drop key_value_states"
                )
            attended = interlaced_attention(
                query,
                key,
                value,
                segment_lengths,
                pattern,
                key_padding_mask=key_padding_mask,
                implementation=self.config._attn_implementation,
                dropout_p=dropout_p,
            )
        else:
            # Every sample keeps >= 1 real step per modality (see lengths_after_conv), so no row is
            # fully masked and the softmax is well defined.
            mask = None if key_padding_mask is None else key_padding_mask[:, None, None, :]
            attended = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout_p)
        batch, _, time_q, _ = attended.shape
        return self.o_proj(attended.transpose(1, 2).reshape(batch, time_q, -1))


class GsiTLayer(nn.Module):
    """Pre-LN transformer layer: x + Attn(LN(x), LN(keys)), then x + FFN(LN(x)) with a 4x GELU FFN."""

    def __init__(self, config: GsiTConfig, width: int):
        super().__init__()
        self.attention_norm = nn.LayerNorm(width, eps=config.layer_norm_eps)
        self.attention = GsiTAttention(config, width)
        self.ffn_norm = nn.LayerNorm(width, eps=config.layer_norm_eps)
        self.fc1 = nn.Linear(width, 4 * width)
        self.fc2 = nn.Linear(4 * width, width)
        self.activation_dropout = nn.Dropout(config.activation_dropout)
        self.residual_dropout = nn.Dropout(config.residual_dropout)

    def forward(
        self, hidden_states: torch.Tensor, key_value_states: torch.Tensor | None = None, **attention_kwargs
    ) -> torch.Tensor:
        """``hidden_states: [batch, time, width]`` -> same shape; keys as in :class:`GsiTAttention`."""
        normed_keys = None if key_value_states is None else self.attention_norm(key_value_states)
        attended = self.attention(self.attention_norm(hidden_states), normed_keys, **attention_kwargs)
        hidden_states = hidden_states + self.residual_dropout(attended)
        transformed = self.fc2(self.activation_dropout(F.gelu(self.fc1(self.ffn_norm(hidden_states)))))
        return hidden_states + self.residual_dropout(transformed)


class GsiTEncoder(nn.Module):
    """``num_layers`` layers (one weight set reused at every depth when ``tie_layers``) + final LayerNorm.

    The input (and, in dense cross-modal mode, the key source) is scaled by sqrt(width) and
    passed through embedding dropout first, as in MulT; there is no positional embedding.
    """

    def __init__(self, config: GsiTConfig, width: int):
        super().__init__()
        self.num_layers = config.num_layers
        self.embed_scale = math.sqrt(width)
        self.embedding_dropout = nn.Dropout(config.embedding_dropout)
        num_weight_sets = 1 if config.tie_layers else config.num_layers
        self.layers = nn.ModuleList(GsiTLayer(config, width) for _ in range(num_weight_sets))
        self.final_norm = nn.LayerNorm(width, eps=config.layer_norm_eps)

    def forward(
        self, hidden_states: torch.Tensor, key_value_states: torch.Tensor | None = None, **attention_kwargs
    ) -> torch.Tensor:
        """``hidden_states: [batch, time, width]`` -> ``[batch, time, width]``.

        In dense cross-modal mode ``key_value_states`` stays the same at every depth (MulT's
        cross-modal transformer re-reads the source modality); in interlaced and self modes
        the keys are the current hidden states.
        """
        hidden_states = self.embedding_dropout(self.embed_scale * hidden_states)
        if key_value_states is not None:
            key_value_states = self.embedding_dropout(self.embed_scale * key_value_states)
        for depth in range(self.num_layers):
            layer = self.layers[depth % len(self.layers)]
            hidden_states = layer(hidden_states, key_value_states, **attention_kwargs)
        return self.final_norm(hidden_states)
