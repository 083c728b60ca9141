"""MulT, GsiT's baseline: one cross-modal transformer per ordered modality pair, one memory transformer
per modality (nine transformers where GsiT has one shared attention per pass).

Queries come from one modality, keys and values from another (or, in a memory transformer, the same);
every query sees every real key (torch's SDPA with the key padding mask). Per modality the output is
a ``2 d`` sequence: the first half from its forward partner, the second from its backward partner.

    forward  pairs: text <- vision, vision <- audio, audio <- text
    backward pairs: text <- audio,  vision <- text,  audio <- vision
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...kernels import NAMED_PATTERNS
from ...kernels.softmax import masked_attention_probs
from .configuration_gsit import GsiTConfig
from .inputs import MODALITIES, RealLengths
from .layers import FusionOutput, LayerStack, PreLNLayer, SharedProjections, padding_mask

FORWARD_SOURCE = {MODALITIES[i]: MODALITIES[j] for i, j in enumerate(NAMED_PATTERNS["forward"])}
BACKWARD_SOURCE = {MODALITIES[i]: MODALITIES[j] for i, j in enumerate(NAMED_PATTERNS["backward"])}


class CrossModalAttention(SharedProjections):
    """Queries from ``hidden_states``, keys and values from ``key_value_states`` (default: the queries')."""

    def forward(self, hidden_states, key_value_states=None, key_padding_mask=None, output_attentions=False):
        """``hidden_states [batch, T_q, width]``, ``key_value_states [batch, T_k, width]``, ``key_padding_mask
        [batch, T_k]`` bool (True = real key) -> ``[batch, T_q, width]`` and, when asked, the
        ``[batch, heads, T_q, T_k]`` probabilities."""
        keys_from = hidden_states if key_value_states is None else key_value_states
        query = self.split_heads(self.q_proj(hidden_states))
        key = self.split_heads(self.k_proj(keys_from))
        value = self.split_heads(self.v_proj(keys_from))
        # Every sample keeps >= 1 real step per modality (see lengths_after_conv), so no row is
        # fully masked and the softmax is well defined.
        mask = None if key_padding_mask is None else key_padding_mask[:, None, None, :]
        attended = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=self.dropout_p)
        probs = masked_attention_probs(query, key, mask, self.head_dim**-0.5) if output_attentions else None
        batch, _, time_q, _ = attended.shape
        return self.o_proj(attended.transpose(1, 2).reshape(batch, time_q, -1)), probs


class CrossModalLayer(PreLNLayer):
    """Pre-LN layer: ``[batch, time, width]`` -> same shape; keys as in :class:`CrossModalAttention`."""

    def __init__(self, config: GsiTConfig, width: int):
        super().__init__(config, width, CrossModalAttention(config, width))

    def forward(self, hidden_states, key_value_states=None, key_padding_mask=None, output_attentions=False):
        normed_keys = None if key_value_states is None else self.attention_norm(key_value_states)
        attended, probs = self.attention(
            self.attention_norm(hidden_states), normed_keys, key_padding_mask, output_attentions
        )
        return self.residual_then_feed_forward(hidden_states, attended), probs


class CrossModalEncoder(LayerStack):
    """One transformer of MulT. In cross-modal mode ``key_value_states`` stays the same at every depth
    (the source modality is re-read); in memory (self) mode the keys are the current hidden states."""

    def __init__(self, config: GsiTConfig, width: int):
        super().__init__(config, width, CrossModalLayer)

    def forward(
        self,
        hidden_states,
        key_value_states=None,
        key_padding_mask=None,
        output_attentions=False,
        output_hidden_states=False,
    ):
        """``[batch, time, width]`` -> ``(final, hidden states per depth or None, probabilities per depth or None)``."""
        hidden_states = self.embedding_dropout(hidden_states, self.embed_scale)
        if key_value_states is not None:
            key_value_states = self.embedding_dropout(key_value_states, self.embed_scale)
        states, attentions = [], []
        for depth in range(self.num_layers):
            states.append(hidden_states)
            hidden_states, probs = self.layer(depth)(
                hidden_states, key_value_states, key_padding_mask, output_attentions
            )
            attentions.append(probs)
        states.append(hidden_states)
        return (
            self.final_norm(hidden_states),
            tuple(states) if output_hidden_states else None,
            tuple(attentions) if output_attentions else None,
        )


class MulTFusion(nn.Module):
    """MulT: ``cross_modal["{target}_from_{source}"]`` for the six ordered pairs, ``memory[m]`` per modality."""

    def __init__(self, config: GsiTConfig):
        super().__init__()
        pairs = [(m, FORWARD_SOURCE[m]) for m in MODALITIES] + [(m, BACKWARD_SOURCE[m]) for m in MODALITIES]
        self.cross_modal = nn.ModuleDict(
            {f"{target}_from_{source}": CrossModalEncoder(config, config.hidden_size) for target, source in pairs}
        )
        self.memory = nn.ModuleDict({m: CrossModalEncoder(config, 2 * config.hidden_size) for m in MODALITIES})

    def forward(
        self,
        streams: dict[str, torch.Tensor],
        lengths: RealLengths,
        last_steps_only: bool = False,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> FusionOutput:
        """As :meth:`~.interlaced.InterlacedFusion.forward` (the full sequences are computed either way);
        hidden states and attentions are named ``"{target}_from_{source}"`` and ``"memory_{m}"``."""
        masks = {m: padding_mask(lengths.device[m], streams[m].shape[1]) for m in MODALITIES}
        fused, hidden_states, attentions = {}, {}, {}
        for target in MODALITIES:
            halves = []
            for source in (FORWARD_SOURCE[target], BACKWARD_SOURCE[target]):
                name = f"{target}_from_{source}"
                half, hidden_states[name], attentions[name] = self.cross_modal[name](
                    streams[target], streams[source], masks[source], output_attentions, output_hidden_states
                )
                halves.append(half)
            name = f"memory_{target}"
            fused[target], hidden_states[name], attentions[name] = self.memory[target](
                torch.cat(halves, dim=-1), None, masks[target], output_attentions, output_hidden_states
            )
        sequences = lengths.last_steps(fused) if last_steps_only else fused
        return FusionOutput(
            sequences, hidden_states if output_hidden_states else None, attentions if output_attentions else None
        )
