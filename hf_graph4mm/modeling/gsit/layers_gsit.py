"""The layers of GsiT and of its MulT baseline: conv projection, attention, pre-LN layer,
encoder, and the two fusion strategies built from them.

Both models use the same layer design (MulT's): pre-LN attention and GELU FFN with
residuals, a final LayerNorm, inputs scaled by sqrt(width), no positional embedding.
They differ only in how the attention picks its keys:

- interlaced (GsiT): queries and keys come from ONE concatenated sequence
  [text; vision; audio]; a segment pattern says which segment each segment attends to.
  The sequence travels as its real steps only, ``[rows, width]`` (:class:`PackedSequence`):
  every per-step operation (projections, FFN, norms, dropout) skips the padding, and the
  attention kernel gets the padded ``[batch, heads, T, head_dim]`` layout it is written for;
- dense (MulT): queries from one modality, keys/values from another (or the same).

Fusion outputs, per modality, a ``2 * hidden_size`` sequence whose first half came from the
modality's forward partner and second half from its backward partner:

    forward  pairs: text <- vision, vision <- audio, audio <- text
    backward pairs: text <- audio,  vision <- text,  audio <- vision
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...kernels import NAMED_PATTERNS, InterlacedAttentionInterface
from ...kernels.primitives import dropout, dropout_add
from .configuration_gsit import GsiTConfig

# Backend per ``config._attn_implementation``: this model's own table, not transformers' global one.
INTERLACED_ATTENTION_FUNCTIONS = InterlacedAttentionInterface()

MODALITIES = ("text", "vision", "audio")
FORWARD_SOURCE = {MODALITIES[i]: MODALITIES[j] for i, j in enumerate(NAMED_PATTERNS["forward"])}
BACKWARD_SOURCE = {MODALITIES[i]: MODALITIES[j] for i, j in enumerate(NAMED_PATTERNS["backward"])}


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


def last_real_steps(sequences: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``{m: [batch, T_m, width]}`` -> ``{m: [batch, width]}``: each sample's last real step (what a head reads)."""
    return {
        m: sequences[m][torch.arange(sequences[m].shape[0], device=sequences[m].device), lengths[m] - 1]
        for m in sequences
    }


class Dropout(nn.Dropout):
    """``nn.Dropout`` drawn by :func:`hf_graph4mm.kernels.primitives.dropout_mask` (fast on CPU: ``bernoulli_``
    took a fifth of a GsiT training step), with the multiplications around it folded into one pass."""

    def forward(self, input: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """``dropout(scale * input)``."""
        if self.training:
            return dropout(input, self.p, scale)
        return input if scale == 1.0 else input * scale

    def add(self, residual: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
        """``residual + dropout(input)``."""
        return dropout_add(residual, input, self.p) if self.training else residual + input


@dataclass
class PackedSequence:
    """Where the real steps of a right-padded concatenated sequence ``[batch, T, ...]`` are.

    Attributes:
        rows: ``[N]`` long, flat positions ``b * T + t`` of the real steps, in order.
        batch, total: the padded layout's ``batch`` and ``T``.
        segment_lengths: padded length of each modality segment (they sum to ``T``).
        key_padding_mask: ``[batch, T]`` bool, True = real step.
    """

    rows: torch.Tensor
    batch: int
    total: int
    segment_lengths: tuple[int, ...]
    key_padding_mask: torch.Tensor
    # no padding at all: packing is a reshape (no gather, no zero-filled scatter)
    dense: bool = False

    @classmethod
    def from_mask(cls, key_padding_mask: torch.Tensor, segment_lengths: Sequence[int]) -> PackedSequence:
        batch, total = key_padding_mask.shape
        rows = key_padding_mask.reshape(-1).nonzero().squeeze(1)
        return cls(rows, batch, total, tuple(segment_lengths), key_padding_mask, rows.numel() == batch * total)

    def pack(self, padded: torch.Tensor) -> torch.Tensor:
        """``[batch, T, width]`` -> ``[N, width]``: the real steps."""
        flat = padded.reshape(self.batch * self.total, -1)
        return flat if self.dense else flat.index_select(0, self.rows)

    def unpack(self, packed: torch.Tensor) -> torch.Tensor:
        """``[N, width]`` -> ``[batch, T, width]`` with zeros on the padding."""
        if self.dense:
            return packed.view(self.batch, self.total, -1)
        padded = packed.new_zeros(self.batch * self.total, packed.shape[-1])
        return padded.index_copy(0, self.rows, packed).view(self.batch, self.total, -1)

    def rows_of(self, positions: torch.Tensor) -> torch.Tensor:
        """Packed row of each flat padded position in ``positions`` (each must be a real step)."""
        if self.dense:
            return positions
        row_of_position = torch.full((self.batch * self.total,), -1, dtype=torch.long, device=self.rows.device)
        row_of_position[self.rows] = torch.arange(self.rows.numel(), device=self.rows.device)
        return row_of_position[positions]


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

    def interlaced(
        self,
        rows: torch.Tensor,
        layout: PackedSequence,
        pattern: tuple[int, ...],
        keep_rows: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Interlaced mode: segment ``s`` of the sequence attends only to segment ``pattern[s]``.

        Args:
            rows: ``[N, width]``, the real steps of the concatenated sequence (``layout``).
            keep_rows: ``[S * batch]`` long, the only rows whose output is wanted: one per segment and
                sample, segment-major (the last real steps a classifier head reads). Only their
                queries are projected and attended with; keys and values still come from every row.

        Returns:
            ``[N, width]``, or ``[S * batch, width]`` in ``keep_rows``' order.
        """
        # one GEMM for q, k and v (the weights stay three Linear modules: checkpoints unchanged)
        weight = torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight])
        bias = torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias])
        batch, total, width = layout.batch, layout.total, self.q_proj.out_features
        attention = INTERLACED_ATTENTION_FUNCTIONS.get_interface(self.config._attn_implementation)
        dropout_p = self.dropout if self.training else 0.0
        if keep_rows is None:
            padded = layout.unpack(F.linear(rows, weight, bias))  # [batch, T, 3 * width]
            # unbind, not indexing: its backward is one stack, not three zero-filled full-size tensors
            query, key, value = padded.view(batch, total, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind()
            attended = attention(
                query, key, value, layout.segment_lengths, pattern, layout.key_padding_mask, dropout_p=dropout_p
            )  # [batch, heads, T, head_dim]
            return self.o_proj(layout.pack(attended.transpose(1, 2)))
        segments = len(layout.segment_lengths)
        padded = layout.unpack(F.linear(rows, weight[width:], bias[width:]))  # [batch, T, 2 * width]
        key, value = padded.view(batch, total, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind()
        query = F.linear(rows.index_select(0, keep_rows), weight[:width], bias[:width])  # [S * batch, width]
        query = query.view(segments, batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)  # [batch, heads, S, d]
        attended = attention(
            query,
            key,
            value,
            layout.segment_lengths,
            pattern,
            layout.key_padding_mask,
            dropout_p=dropout_p,
            query_segment_lengths=(1,) * segments,
        )  # [batch, heads, S, head_dim]
        return self.o_proj(attended.permute(2, 0, 1, 3).reshape(segments * batch, width))

    def forward(
        self,
        hidden_states: torch.Tensor,
        key_value_states: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Dense mode (MulT): every query sees every real key.

        Args:
            hidden_states: queries' input ``[batch, time_q, width]``.
            key_value_states: keys' input ``[batch, time_k, width]`` (default: the queries').
            key_padding_mask: ``[batch, time_k]`` bool, True = real key.

        Returns:
            ``[batch, time_q, width]``.
        """
        keys_from = hidden_states if key_value_states is None else key_value_states
        query = self._split_heads(self.q_proj(hidden_states))
        key = self._split_heads(self.k_proj(keys_from))
        value = self._split_heads(self.v_proj(keys_from))
        dropout_p = self.dropout if self.training else 0.0
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
        self.activation_dropout = Dropout(config.activation_dropout)
        self.residual_dropout = Dropout(config.residual_dropout)

    def _feed_forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        transformed = self.fc2(self.activation_dropout(F.gelu(self.fc1(self.ffn_norm(hidden_states)))))
        return self.residual_dropout.add(hidden_states, transformed)

    def forward(
        self,
        hidden_states: torch.Tensor,
        key_value_states: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Dense mode: ``hidden_states: [batch, time, width]`` -> same shape; keys as in :class:`GsiTAttention`."""
        normed_keys = None if key_value_states is None else self.attention_norm(key_value_states)
        attended = self.attention(self.attention_norm(hidden_states), normed_keys, key_padding_mask)
        return self._feed_forward(self.residual_dropout.add(hidden_states, attended))

    def interlaced(self, rows, layout: PackedSequence, pattern, keep_rows=None) -> torch.Tensor:
        """Interlaced mode on packed ``rows [N, width]`` -> ``[N, width]`` (``[S * batch, width]`` with
        ``keep_rows``, as :meth:`GsiTAttention.interlaced` takes them)."""
        attended = self.attention.interlaced(self.attention_norm(rows), layout, pattern, keep_rows)
        if keep_rows is not None:
            rows = rows.index_select(0, keep_rows)
        return self._feed_forward(self.residual_dropout.add(rows, attended))


class GsiTEncoder(nn.Module):
    """``num_layers`` layers (one weight set reused at every depth when ``tie_layers``) + final LayerNorm.

    The input (and, in dense cross-modal mode, the key source) is scaled by sqrt(width) and
    passed through embedding dropout first, as in MulT; there is no positional embedding.
    """

    def __init__(self, config: GsiTConfig, width: int):
        super().__init__()
        self.num_layers = config.num_layers
        self.embed_scale = math.sqrt(width)
        self.embedding_dropout = Dropout(config.embedding_dropout)
        num_weight_sets = 1 if config.tie_layers else config.num_layers
        self.layers = nn.ModuleList(GsiTLayer(config, width) for _ in range(num_weight_sets))
        self.final_norm = nn.LayerNorm(width, eps=config.layer_norm_eps)

    def _layer(self, depth: int) -> GsiTLayer:
        return self.layers[depth % len(self.layers)]

    def forward(
        self,
        hidden_states: torch.Tensor,
        key_value_states: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Dense mode: ``hidden_states: [batch, time, width]`` -> ``[batch, time, width]``.

        In cross-modal mode ``key_value_states`` stays the same at every depth (MulT's
        cross-modal transformer re-reads the source modality); in self mode the keys are the
        current hidden states.
        """
        hidden_states = self.embedding_dropout(hidden_states, self.embed_scale)
        if key_value_states is not None:
            key_value_states = self.embedding_dropout(key_value_states, self.embed_scale)
        for depth in range(self.num_layers):
            hidden_states = self._layer(depth)(hidden_states, key_value_states, key_padding_mask)
        return self.final_norm(hidden_states)

    def interlaced(self, rows, layout: PackedSequence, pattern, keep_rows=None) -> torch.Tensor:
        """Interlaced mode on packed ``rows [N, width]`` -> ``[N, width]``; with ``keep_rows`` (applied at the
        last depth, where only those rows' outputs are still needed) -> ``[S * batch, width]``."""
        rows = self.embedding_dropout(rows, self.embed_scale)
        for depth in range(self.num_layers):
            last = depth == self.num_layers - 1
            rows = self._layer(depth).interlaced(rows, layout, pattern, keep_rows if last else None)
        if self.num_layers == 0 and keep_rows is not None:
            rows = rows.index_select(0, keep_rows)
        return self.final_norm(rows)


class InterlacedFusion(nn.Module):
    """GsiT: three shared-weight passes over [text; vision; audio] under the Interlaced Mask.

    Forward and backward passes (width d, separate weights) cover the six directed modality
    pairs; their outputs are concatenated to 2d and a self pass (block-diagonal mask) plays
    the role of MulT's three memory transformers.
    """

    def __init__(self, config: GsiTConfig):
        super().__init__()
        self.forward_pass = GsiTEncoder(config, config.hidden_size)
        self.backward_pass = GsiTEncoder(config, config.hidden_size)
        self.self_pass = GsiTEncoder(config, 2 * config.hidden_size)

    def forward(
        self, streams: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor], last_steps_only: bool = False
    ) -> dict[str, torch.Tensor]:
        """Fuse.

        Args:
            streams: ``{m: [batch, T_m, d]}``; lengths: ``{m: [batch]}`` real steps (each >= 1).
            last_steps_only: compute only what the head reads, the last real step of each modality
                (the last self-pass layer then runs its FFN on those rows only).

        Returns:
            ``{m: [batch, T_m, 2d]}`` (zeros on padding), or ``{m: [batch, 2d]}`` with ``last_steps_only``.
        """
        segment_lengths = [streams[m].shape[1] for m in MODALITIES]
        mask = torch.cat([padding_mask(lengths[m], streams[m].shape[1]) for m in MODALITIES], dim=1)
        layout = PackedSequence.from_mask(mask, segment_lengths)
        rows = layout.pack(torch.cat([streams[m] for m in MODALITIES], dim=1))  # [N, d]
        forward_rows = self.forward_pass.interlaced(rows, layout, NAMED_PATTERNS["forward"])
        backward_rows = self.backward_pass.interlaced(rows, layout, NAMED_PATTERNS["backward"])
        both = torch.cat([forward_rows, backward_rows], dim=-1)  # [N, 2d]
        if not last_steps_only:
            fused = layout.unpack(self.self_pass.interlaced(both, layout, NAMED_PATTERNS["self"]))
            return dict(zip(MODALITIES, fused.split(segment_lengths, dim=1)))
        batch = layout.batch
        starts = [0, *itertools.accumulate(segment_lengths[:-1])]
        sample_offset = torch.arange(batch, device=rows.device) * layout.total
        last_positions = torch.cat(
            [sample_offset + start + lengths[m] - 1 for start, m in zip(starts, MODALITIES)]
        )  # [3 * batch]: text rows, then vision, then audio
        kept = self.self_pass.interlaced(both, layout, NAMED_PATTERNS["self"], layout.rows_of(last_positions))
        return dict(zip(MODALITIES, kept.split(batch, dim=0)))


class MulTFusion(nn.Module):
    """MulT: one cross-modal transformer per ordered pair, one memory transformer per modality."""

    def __init__(self, config: GsiTConfig):
        super().__init__()
        pairs = [(m, FORWARD_SOURCE[m]) for m in MODALITIES] + [(m, BACKWARD_SOURCE[m]) for m in MODALITIES]
        self.cross_modal = nn.ModuleDict(
            {f"{target}_from_{source}": GsiTEncoder(config, config.hidden_size) for target, source in pairs}
        )
        self.memory = nn.ModuleDict({m: GsiTEncoder(config, 2 * config.hidden_size) for m in MODALITIES})

    def forward(
        self, streams: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor], last_steps_only: bool = False
    ) -> dict[str, torch.Tensor]:
        """As :meth:`InterlacedFusion.forward` (the full sequences are computed either way)."""
        masks = {m: padding_mask(lengths[m], streams[m].shape[1]) for m in MODALITIES}
        fused = {}
        for target in MODALITIES:
            halves = [
                self.cross_modal[f"{target}_from_{source}"](
                    streams[target], streams[source], key_padding_mask=masks[source]
                )
                for source in (FORWARD_SOURCE[target], BACKWARD_SOURCE[target])
            ]
            fused[target] = self.memory[target](torch.cat(halves, dim=-1), key_padding_mask=masks[target])
        return last_real_steps(fused, lengths) if last_steps_only else fused
