"""GsiT's fusion: one shared-weight attention per pass over [text; vision; audio] under the Interlaced Mask.

Queries and keys come from ONE concatenated sequence; a segment pattern says which segment each
segment attends to (``hf_graph4mm.kernels.NAMED_PATTERNS``). The sequence travels as its real steps
only, ``[rows, width]``: every per-step operation (projections, FFN, norms, dropout) skips the
padding, and the attention kernel gets the padded ``[batch, heads, T, head_dim]`` layout it is
written for. Where each step lies is planned once per forward (:class:`InterlacedLayout`) and
handed to every layer and kernel.

    forward  pass: text <- vision, vision <- audio, audio <- text
    backward pass: text <- audio,  vision <- text,  audio <- vision
    self     pass (on 2d): each modality to itself
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ...kernels import NAMED_PATTERNS, InterlacedAttentionInterface, InterlacedLayout
from ...kernels.interlaced import interlaced_attention_probs
from ..attention_parts import ResolvesBackend
from .configuration_gsit import GsiTConfig
from .inputs import MODALITIES, RealLengths
from .layers import FusionOutput, LayerStack, PreLNLayer, SharedProjections

# This model's own table of backends (never transformers' global one), read when the backend is set.
INTERLACED_ATTENTION_FUNCTIONS = InterlacedAttentionInterface()


class InterlacedAttention(ResolvesBackend, SharedProjections):
    """Segment ``s`` of the sequence attends only to segment ``pattern[s]``, with one set of projections."""

    backends = INTERLACED_ATTENTION_FUNCTIONS

    def __init__(self, config: GsiTConfig, width: int):
        super().__init__(config, width)
        self.refresh_backend()

    def forward(
        self,
        rows: torch.Tensor,
        layout: InterlacedLayout,
        pattern: tuple[int, ...],
        keep_rows: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend.

        Args:
            rows: ``[N, width]``, the rows of the concatenated sequence (``layout``).
            keep_rows: ``[S * batch]`` long, the only rows whose output is wanted: one per segment and
                sample, segment-major (the last real steps a classifier head reads). Only their
                queries are projected and attended with; keys and values still come from every row.
            output_attentions: also return the ``[batch, heads, T, T]`` probabilities (without ``keep_rows``).

        Returns:
            ``[N, width]`` (``[S * batch, width]`` in ``keep_rows``' order), and the probabilities or None.
        """
        attention = self.resolved_attention()
        # one GEMM for q, k and v (the weights stay three Linear modules: checkpoints unchanged)
        weight = torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight])
        bias = torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias])
        batch, total, width = layout.batch, layout.total, self.q_proj.out_features
        rows_attention = getattr(self.attention_function, "rows", None)
        if (
            rows_attention is not None
            and keep_rows is None
            and not output_attentions
            and rows_attention.applies(layout, pattern, rows.device)
        ):
            return self._attend_rows(rows_attention, rows, layout, pattern, weight, bias), None
        if keep_rows is None:
            padded = layout.unpack(F.linear(rows, weight, bias))  # [batch, T, 3 * width]
            # unbind, not indexing: its backward is one stack, not three zero-filled full-size tensors
            query, key, value = padded.view(batch, total, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind()
            attended = attention(query, key, value, layout, pattern, dropout_p=self.dropout_p)
            probs = interlaced_attention_probs(query, key, layout, pattern) if output_attentions else None
            return self.o_proj(layout.pack(attended.transpose(1, 2))), probs
        segments = len(layout.segment_lengths)
        padded = layout.unpack(F.linear(rows, weight[width:], bias[width:]))  # [batch, T, 2 * width]
        key, value = padded.view(batch, total, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind()
        query = F.linear(rows.index_select(0, keep_rows), weight[:width], bias[:width])  # [S * batch, width]
        query = query.view(segments, batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)  # [batch, heads, S, d]
        attended = attention(
            query, key, value, layout, pattern, dropout_p=self.dropout_p, query_segment_lengths=(1,) * segments
        )  # [batch, heads, S, head_dim]
        return self.o_proj(attended.permute(2, 0, 1, 3).reshape(segments * batch, width)), None

    def _attend_rows(self, rows_attention, rows, layout, pattern, weight, bias) -> torch.Tensor:
        """The backend's rows variant (CPU, padded batch): q, k, v stay rows, one block per sample and
        segment, so nothing is unpacked to the padded layout and no padded step is attended."""
        width, heads, head_dim = self.q_proj.out_features, self.num_heads, self.head_dim
        query, key, value = F.linear(rows, weight, bias).view(-1, 3, heads, head_dim).unbind(1)
        attended = rows_attention(query, key, value, layout, pattern, dropout_p=self.dropout_p)
        return self.o_proj(attended.reshape(attended.shape[0], width))


class InterlacedLayer(PreLNLayer):
    """Pre-LN layer on rows: ``[N, width]`` -> ``[N, width]`` (``[S * batch, width]`` with ``keep_rows``)."""

    def __init__(self, config: GsiTConfig, width: int):
        super().__init__(config, width, InterlacedAttention(config, width))

    def forward(self, rows, layout: InterlacedLayout, pattern, keep_rows=None, output_attentions=False):
        attended, probs = self.attention(self.attention_norm(rows), layout, pattern, keep_rows, output_attentions)
        if keep_rows is not None:
            rows = rows.index_select(0, keep_rows)
        return self.residual_then_feed_forward(rows, attended), probs


@dataclass
class PassOutput:
    """One pass: its final rows, and (when asked) each depth's input rows and attention probabilities."""

    rows: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class InterlacedEncoder(LayerStack):
    """One pass: ``num_layers`` interlaced layers under one pattern, then the final LayerNorm."""

    def __init__(self, config: GsiTConfig, width: int):
        super().__init__(config, width, InterlacedLayer)

    def forward(
        self,
        rows: torch.Tensor,
        layout: InterlacedLayout,
        pattern: tuple[int, ...],
        keep_rows: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> PassOutput:
        """Rows ``[N, width]`` -> ``[N, width]``; with ``keep_rows`` (applied at the last depth, where only those
        rows' outputs are still needed) -> ``[S * batch, width]``.

        ``hidden_states`` holds the input of every depth and the last layer's output (before the final
        LayerNorm), each ``[N, width]``; ``attentions`` one ``[batch, heads, T, T]`` per depth.
        """
        rows = self.embedding_dropout(rows, self.embed_scale)
        states, attentions = [], []
        for depth in range(self.num_layers):
            states.append(rows)
            last = depth == self.num_layers - 1
            rows, probs = self.layer(depth)(rows, layout, pattern, keep_rows if last else None, output_attentions)
            attentions.append(probs)
        if self.num_layers == 0 and keep_rows is not None:
            rows = rows.index_select(0, keep_rows)
        states.append(rows)
        return PassOutput(
            self.final_norm(rows),
            tuple(states) if output_hidden_states else None,
            tuple(attentions) if output_attentions else None,
        )


class InterlacedFusion(torch.nn.Module):
    """GsiT: three shared-weight passes over [text; vision; audio] under the Interlaced Mask.

    Forward and backward passes (width d, separate weights) cover the six directed modality
    pairs; their outputs are concatenated to 2d and a self pass (block-diagonal mask) plays
    the role of MulT's three memory transformers.
    """

    def __init__(self, config: GsiTConfig):
        super().__init__()
        self.forward_pass = InterlacedEncoder(config, config.hidden_size)
        self.backward_pass = InterlacedEncoder(config, config.hidden_size)
        self.self_pass = InterlacedEncoder(config, 2 * config.hidden_size)

    def forward(
        self,
        streams: dict[str, torch.Tensor],
        lengths: RealLengths,
        last_steps_only: bool = False,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> FusionOutput:
        """Fuse ``streams {m: [batch, T_m, d]}`` with real ``lengths`` (each >= 1).

        ``last_steps_only``: compute only what the head reads, the last real step of each modality (the
        last self-pass layer then runs its FFN on those rows only); ignored when outputs are asked for.
        """
        padded_lengths = {m: streams[m].shape[1] for m in MODALITIES}
        if lengths.host is not None and not (output_attentions or output_hidden_states):
            # steps past a segment's longest real sample are padding in every sample: leave them out
            # (exact: no real step attends to padding); the sequences are padded back at the end
            streams = {m: streams[m][:, : max(lengths.host[m])] for m in MODALITIES}
        segment_lengths = [streams[m].shape[1] for m in MODALITIES]
        layout = InterlacedLayout.from_lengths(segment_lengths, lengths.stacked(), lengths.host_stacked())
        rows = layout.pack(torch.cat([streams[m] for m in MODALITIES], dim=1))  # [N, d]
        options = dict(output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        passes = {
            "forward": self.forward_pass(rows, layout, NAMED_PATTERNS["forward"], **options),
            "backward": self.backward_pass(rows, layout, NAMED_PATTERNS["backward"], **options),
        }
        both = torch.cat([passes["forward"].rows, passes["backward"].rows], dim=-1)  # [N, 2d]
        keep_rows = None
        if last_steps_only and not (output_attentions or output_hidden_states):
            keep_rows = layout.last_rows()
        passes["self"] = self.self_pass(both, layout, NAMED_PATTERNS["self"], keep_rows, **options)
        if keep_rows is not None:
            kept = passes["self"].rows  # [S * batch, 2d], segment-major
            sequences = dict(zip(MODALITIES, kept.view(len(MODALITIES), layout.batch, -1).unbind(0)))
        else:
            fused = layout.unpack(passes["self"].rows, zero_padding=True)
            sequences = {
                m: sequence if sequence.shape[1] == padded_lengths[m] else
                F.pad(sequence, (0, 0, 0, padded_lengths[m] - sequence.shape[1]))
                for m, sequence in zip(MODALITIES, fused.split(segment_lengths, dim=1))
            }
            if last_steps_only:
                sequences = lengths.last_steps(sequences)
        hidden_states = attentions = None
        if output_hidden_states:
            hidden_states = {
                name: tuple(layout.unpack(state, zero_padding=True) for state in output.hidden_states)
                for name, output in passes.items()
            }
        if output_attentions:
            attentions = {name: output.attentions for name, output in passes.items()}
        return FusionOutput(sequences, hidden_states, attentions)
