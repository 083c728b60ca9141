"""The parts GsiT's interlaced stack and MulT's cross-modal stack share (MulT's layer design).

Pre-LN attention and GELU FFN with residuals, a final LayerNorm, inputs scaled by sqrt(width), no
positional embedding. The two stacks differ only in how their attention picks keys
(:mod:`.interlaced`, :mod:`.mult`); here are the conv projection, the dropout, the attention's
shared projections, the layer's FFN half and the encoder's depth loop. Module attribute names are
the checkpoints' keys (``layers.0.attention.q_proj.weight``...): both stacks keep them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...kernels.dropout import dropout, dropout_add
from .configuration_gsit import GsiTConfig


def lengths_after_conv(lengths: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Real lengths after an unpadded Conv1d: ``max(length - kernel_size + 1, 1)``.

    A sample shorter than the kernel (even an empty one) keeps ONE step: the conv over its
    real steps followed by zeros (padding is zeroed before the conv), so every modality of
    every sample has a real last step for the head and a real key for the attention.
    """
    return (lengths - kernel_size + 1).clamp(min=1)


def padding_mask(lengths: torch.Tensor, time: int) -> torch.Tensor:
    """``[batch, time]`` bool, True on the first ``lengths[b]`` steps."""
    return torch.arange(time, device=lengths.device)[None, :] < lengths[:, None]


class Dropout(nn.Dropout):
    """``nn.Dropout`` drawn by :func:`hf_graph4mm.kernels.dropout.dropout_mask` (several mask entries per
    random word on CPU), with the multiplications around it folded into one pass."""

    def forward(self, input: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """``dropout(scale * input)``."""
        if self.training:
            return dropout(input, self.p, scale)
        return input if scale == 1.0 else input * scale

    def add(self, residual: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
        """``residual + dropout(input)``."""
        return dropout_add(residual, input, self.p) if self.training else residual + input


class GsiTModalityProjection(nn.Module):
    """Conv1d (no padding, no bias) from one modality's features to the model width."""

    def __init__(self, feature_dim: int, hidden_size: int, kernel_size: int):
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(feature_dim, hidden_size, kernel_size=kernel_size, padding=0, bias=False)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Project and shorten: ``[batch, time, feature_dim]`` right-padded, ``lengths [batch]`` real steps
        -> ``[batch, max(time, kernel) - kernel + 1, hidden_size]`` (real lengths: :func:`lengths_after_conv`)."""
        real = padding_mask(lengths, features.shape[1])
        # Zero the padding (where, not multiply: MMSA audio may hold -inf there) so that what a
        # short sample's conv window sees does not depend on how it was padded.
        features = torch.where(real[..., None], features, torch.zeros((), dtype=features.dtype))
        if features.shape[1] < self.kernel_size:
            features = F.pad(features, (0, 0, 0, self.kernel_size - features.shape[1]))
        return self.conv(features.transpose(1, 2)).transpose(1, 2)


class SharedProjections(nn.Module):
    """Multi-head attention's Q/K/V/O projections, shared by every modality the attention serves."""

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

    def split_heads(self, states: torch.Tensor) -> torch.Tensor:
        """``[batch, time, width]`` -> ``[batch, heads, time, head_dim]``."""
        batch, time, _ = states.shape
        return states.view(batch, time, self.num_heads, self.head_dim).transpose(1, 2)

    @property
    def dropout_p(self) -> float:
        return self.dropout if self.training else 0.0


class PreLNLayer(nn.Module):
    """``x + Attn(LN(x), ...)``, then ``x + FFN(LN(x))`` with a 4x GELU FFN; subclasses set the attention
    and write ``forward``."""

    def __init__(self, config: GsiTConfig, width: int, attention: nn.Module):
        super().__init__()
        self.attention_norm = nn.LayerNorm(width, eps=config.layer_norm_eps)
        self.attention = attention
        self.ffn_norm = nn.LayerNorm(width, eps=config.layer_norm_eps)
        self.fc1 = nn.Linear(width, 4 * width)
        self.fc2 = nn.Linear(4 * width, width)
        self.activation_dropout = Dropout(config.activation_dropout)
        self.residual_dropout = Dropout(config.residual_dropout)

    def residual_then_feed_forward(self, hidden_states: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
        """``h = x + dropout(attended)``, then ``h + dropout(FFN(LN(h)))``."""
        hidden_states = self.residual_dropout.add(hidden_states, attended)
        transformed = self.fc2(self.activation_dropout(F.gelu(self.fc1(self.ffn_norm(hidden_states)))))
        return self.residual_dropout.add(hidden_states, transformed)


class LayerStack(nn.Module):
    """``num_layers`` layers (one weight set reused at every depth when ``tie_layers``, as published) and a
    final LayerNorm; the input is scaled by sqrt(width) and dropped out first, as in MulT."""

    def __init__(self, config: GsiTConfig, width: int, layer_class: type[nn.Module]):
        super().__init__()
        self.num_layers = config.num_layers
        self.embed_scale = math.sqrt(width)
        self.embedding_dropout = Dropout(config.embedding_dropout)
        num_weight_sets = 1 if config.tie_layers else config.num_layers
        self.layers = nn.ModuleList(layer_class(config, width) for _ in range(num_weight_sets))
        self.final_norm = nn.LayerNorm(width, eps=config.layer_norm_eps)

    def layer(self, depth: int) -> nn.Module:
        return self.layers[depth % len(self.layers)]


@dataclass
class FusionOutput:
    """``sequences``: ``{m: [batch, T_m, 2d]}`` (zeros on padding) or ``{m: [batch, 2d]}`` (last steps only);
    ``hidden_states`` / ``attentions``: ``{name: tuple per depth}`` when asked (names: the passes, or MulT's
    transformers), hidden states ``[batch, T, width]``."""

    sequences: dict[str, torch.Tensor]
    hidden_states: dict[str, tuple[torch.Tensor, ...]] | None = None
    attentions: dict[str, tuple[torch.Tensor, ...]] | None = None
