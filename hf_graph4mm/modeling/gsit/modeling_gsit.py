"""GsiT and its MulT baseline as transformers ``PreTrainedModel``s.

``GsiTModel``: (optional text encoder) -> Conv1d projection per modality -> fusion
("interlaced" = GsiT, "mult" = MulT) -> the last real step of each modality, concatenated
(``6 * hidden_size``, the fused representation).
``GsiTForSequenceClassification``: + the published head of the chosen fusion and the loss.

Inputs are right-padded sequences; each modality takes its real lengths (``*_lengths``,
``[batch]``) or a mask (``*_mask``, ``[batch, time]``, 1 = real), or neither (all real). ``forward``
takes them in MMSA's order (text, audio, vision); the fusion concatenates them as the paper does,
[text; vision; audio] (:data:`~.inputs.MODALITIES`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, PreTrainedModel
from transformers.utils import ModelOutput

from ...kernels import InterlacedAttentionInterface, check_implementation
from ..attention_parts import attn_implementation_per_part, refresh_attention_backends
from ..sharing import ShareableModelMixin
from .configuration_gsit import GsiTConfig
from .inputs import MODALITIES, check_features, real_lengths
from .interlaced import InterlacedFusion
from .layers import Dropout, GsiTModalityProjection
from .mult import MulTFusion


def default_attn_implementation() -> str:
    """GsiT runs "sdpa" unless told otherwise (the fastest exact backend on CPU and GPU alike)."""
    return "sdpa"


@dataclass
class GsiTModelOutput(ModelOutput):
    """Output of :class:`GsiTModel`.

    Args:
        fused_representation: ``[batch, 6 * hidden_size]``, the last real step of the text,
            vision and audio outputs, concatenated in that order.
        text_hidden_state, vision_hidden_state, audio_hidden_state: ``[batch, T_m, 2 * hidden_size]``,
            each modality's fused sequence after the conv (``T_m`` = padded length - kernel + 1).
        sequence_lengths: ``[batch, 3]`` long, real steps of text, vision, audio after the conv.
        hidden_states: with ``output_hidden_states``, ``{name: (input of depth 1, ..., output of depth L)}``
            per pass ("forward", "backward", "self"; MulT: "{target}_from_{source}", "memory_{m}"), each
            ``[batch, T, width]`` before the final LayerNorm (interlaced: over the concatenated sequence
            [text; vision; audio], zeros on padding).
        attentions: with ``output_attentions``, ``{name: (depth 1, ..., depth L)}``, each ``[batch, heads,
            T_q, T_k]`` attention probabilities (interlaced: ``T x T`` over the concatenated sequence, zero
            outside the pass's pattern and on padded keys; before attention dropout).
    """

    fused_representation: torch.FloatTensor | None = None
    text_hidden_state: torch.FloatTensor | None = None
    vision_hidden_state: torch.FloatTensor | None = None
    audio_hidden_state: torch.FloatTensor | None = None
    sequence_lengths: torch.LongTensor | None = None
    hidden_states: dict[str, tuple[torch.FloatTensor, ...]] | None = None
    attentions: dict[str, tuple[torch.FloatTensor, ...]] | None = None


@dataclass
class GsiTSequenceClassifierOutput(ModelOutput):
    """Output of :class:`GsiTForSequenceClassification`.

    Args:
        loss: scalar, when ``labels`` are given (L1/MSE for ``num_labels == 1``, else cross-entropy).
        logits: ``[batch, num_labels]``.
        fused_representation: ``[batch, 6 * hidden_size]``, the head's input.
        hidden_states, attentions: as in :class:`GsiTModelOutput`, when asked for.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    fused_representation: torch.FloatTensor | None = None
    hidden_states: dict[str, tuple[torch.FloatTensor, ...]] | None = None
    attentions: dict[str, tuple[torch.FloatTensor, ...]] | None = None


class GsiTPreTrainedModel(ShareableModelMixin, PreTrainedModel):
    """Shared base: config class, weight init (transformers' default), attention backend choice.

    ``attn_implementation`` names the backend of the interlaced fusion attention ("eager", "sdpa"
    (default), "triton", "flex_attention"; see ``hf_graph4mm.kernels``); a plain name also reaches the
    text encoder, which runs "sdpa" under "triton". The MulT baseline's dense cross-modal attentions
    always run torch's SDPA (the name only matters for "interlaced").
    """

    config_class = GsiTConfig
    base_model_prefix = "model"
    main_input_name = "text_features"
    _supports_sdpa = True
    _supports_flex_attn = True
    _no_split_modules = ["InterlacedLayer", "CrossModalLayer"]

    def get_correct_attn_implementation(
        self, requested_attention: str | None, is_init_check: bool = False
    ) -> str:
        name = default_attn_implementation() if requested_attention is None else requested_attention
        check_implementation(name)
        if self.config.fusion == "interlaced":  # resolve now: a backend that cannot load fails here
            InterlacedAttentionInterface().get_interface(name)
        return name

    def set_attn_implementation(self, attn_implementation: str | dict, allow_all_kernels: bool = False):
        """Switch the fusion attention backend; a plain name also switches the text encoder (to sdpa under
        "triton"), a dict ``{"": ..., "text_encoder_config": ...}`` targets parts."""
        if isinstance(attn_implementation, str):
            attn_implementation = attn_implementation_per_part(self.config, attn_implementation)
        super().set_attn_implementation(attn_implementation, allow_all_kernels)
        refresh_attention_backends(self)

    def get_input_embeddings(self) -> nn.Module | None:
        """The text encoder's token embeddings, or None: a model on text features has no token embeddings
        (FSDP preparation and PEFT ask every model for them)."""
        text_encoder = self.get_text_encoder()
        return None if text_encoder is None else text_encoder.get_input_embeddings()

    def get_text_encoder(self) -> PreTrainedModel | None:
        """The BERT-style text encoder, or None when the model takes text features."""
        for module in self.modules():
            if isinstance(module, GsiTModel):
                return module.text_encoder
        return None

    @classmethod
    def from_text_encoder_pretrained(cls, text_encoder_name_or_path: str, **config_kwargs):
        """A new (randomly initialised) GsiT whose text encoder holds pretrained weights.

        Args:
            text_encoder_name_or_path: Hub id or folder of a BERT-style model.
            config_kwargs: other :class:`GsiTConfig` fields.
        """
        config = GsiTConfig(text_encoder_name_or_path=text_encoder_name_or_path, **config_kwargs)
        model = cls(config)
        pretrained = AutoModel.from_pretrained(text_encoder_name_or_path)
        model.get_text_encoder().load_state_dict(pretrained.state_dict())
        return model


class GsiTModel(GsiTPreTrainedModel):
    """Text encoder (optional) -> per-modality Conv1d projection -> fusion -> fused representation."""

    def __init__(self, config: GsiTConfig):
        super().__init__(config)
        self.text_encoder = None
        if config.text_encoder_config is not None:
            self.text_encoder = AutoModel.from_config(config.text_encoder_config)
        self.text_dropout = Dropout(config.text_dropout)  # on the text features, as published
        self.projections = nn.ModuleDict(
            {
                m: GsiTModalityProjection(config.feature_dims[m], config.hidden_size, config.kernel_sizes[m])
                for m in MODALITIES
            }
        )
        self.fusion = InterlacedFusion(config) if config.fusion == "interlaced" else MulTFusion(config)
        self.post_init()

    def _text_inputs(self, text_features, input_ids, attention_mask, token_type_ids, text_lengths, text_mask):
        """Text features ``[batch, time, text_dim]`` and their mask, from features or token ids."""
        if input_ids is None:
            if text_features is None:
                raise ValueError(
                    "give text_features [batch, time, text_dim] (or input_ids with a text encoder)"
                )
            if attention_mask is not None or token_type_ids is not None:
                raise ValueError(
                    "attention_mask and token_type_ids go with input_ids; with text_features use text_mask or "
                    "text_lengths"
                )
            return text_features, text_lengths, text_mask
        if self.text_encoder is None:
            raise ValueError(
                "input_ids need a text encoder: set GsiTConfig.text_encoder_config (or _name_or_path), "
                "or pass precomputed text_features"
            )
        if text_features is not None:
            raise ValueError("give either input_ids or text_features, not both")
        if text_lengths is not None or text_mask is not None:
            raise ValueError(
                "with input_ids the text padding comes from attention_mask; drop text_lengths/text_mask"
            )
        encoded = self.text_encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        return encoded, None, attention_mask

    def forward(
        self,
        text_features: torch.Tensor | None = None,
        audio_features: torch.Tensor | None = None,
        vision_features: torch.Tensor | None = None,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        text_lengths: torch.Tensor | None = None,
        audio_lengths: torch.Tensor | None = None,
        vision_lengths: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
        audio_mask: torch.Tensor | None = None,
        vision_mask: torch.Tensor | None = None,
        return_sequences: bool = True,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> GsiTModelOutput | tuple:
        """Fuse one batch.

        Args:
            text_features: ``[batch, T_text, text_dim]`` precomputed (e.g. BERT) features, or
            input_ids / attention_mask / token_type_ids: ``[batch, T_text]`` for the text encoder.
            audio_features: ``[batch, T_audio, audio_dim]``; vision_features: ``[batch, T_vision, vision_dim]``.
            *_lengths: ``[batch]`` real steps; *_mask: ``[batch, T]`` 1 = real (right padding only).
            return_sequences: False computes only ``fused_representation`` (what a head reads; the
                ``*_hidden_state`` fields are then None), skipping the last self-pass layer's work
                on every other step, as ``logits_to_keep`` does for an LM.
            output_attentions, output_hidden_states: also return every layer's attention probabilities /
                hidden states (default: the config's), named per pass (see :class:`GsiTModelOutput`).
        """
        output_attentions = self.config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = (
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )
        text_features, text_lengths, text_mask = self._text_inputs(
            text_features, input_ids, attention_mask, token_type_ids, text_lengths, text_mask
        )
        features = {"text": text_features, "audio": audio_features, "vision": vision_features}
        check_features(features, self.config.feature_dims)
        lengths = real_lengths(  # checked before the dropout, which could hide a NaN
            features,
            {"text": text_lengths, "audio": audio_lengths, "vision": vision_lengths},
            {"text": text_mask, "audio": audio_mask, "vision": vision_mask},
        )
        features["text"] = self.text_dropout(text_features)
        streams = {m: self.projections[m](features[m], lengths.device[m]) for m in MODALITIES}
        lengths = lengths.after_conv(self.config.kernel_sizes)
        fused = self.fusion(
            streams,
            lengths,
            last_steps_only=not return_sequences,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        sequences = fused.sequences if return_sequences else {}
        last_steps = lengths.last_steps(sequences) if return_sequences else fused.sequences
        output = GsiTModelOutput(
            fused_representation=torch.cat([last_steps[m] for m in MODALITIES], dim=-1),
            text_hidden_state=sequences.get("text"),
            vision_hidden_state=sequences.get("vision"),
            audio_hidden_state=sequences.get("audio"),
            sequence_lengths=torch.stack([lengths.device[m] for m in MODALITIES], dim=1),
            hidden_states=fused.hidden_states,
            attentions=fused.attentions,
        )
        return output if return_dict is not False else output.to_tuple()


class GsiTClassificationHead(nn.Module):
    """GsiT's published head: Linear(6d -> d), ReLU, dropout, Linear(d -> num_labels)."""

    def __init__(self, config: GsiTConfig):
        super().__init__()
        self.dense = nn.Linear(6 * config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.output_dropout)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        """``fused: [batch, 6d]`` -> ``[batch, num_labels]``."""
        return self.out_proj(self.dropout(F.relu(self.dense(fused))))


class MulTClassificationHead(nn.Module):
    """MulT's published head: a residual block of two 6d -> 6d projections, then Linear(6d -> num_labels)."""

    def __init__(self, config: GsiTConfig):
        super().__init__()
        width = 6 * config.hidden_size
        self.proj1 = nn.Linear(width, width)
        self.proj2 = nn.Linear(width, width)
        self.dropout = nn.Dropout(config.output_dropout)
        self.out_layer = nn.Linear(width, config.num_labels)

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        """``fused: [batch, 6d]`` -> ``[batch, num_labels]``."""
        return self.out_layer(fused + self.proj2(self.dropout(F.relu(self.proj1(fused)))))


class GsiTForSequenceClassification(GsiTPreTrainedModel):
    """GsiT (or MulT) with its published head; regression when ``num_labels == 1``."""

    def __init__(self, config: GsiTConfig):
        super().__init__(config)
        self.model = GsiTModel(config)
        head = GsiTClassificationHead if config.fusion == "interlaced" else MulTClassificationHead
        self.head = head(config)
        self.post_init()

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        problem_type = self.config.problem_type
        if problem_type is None:
            if self.config.num_labels == 1:
                problem_type = "regression"
            elif labels.dtype in (torch.long, torch.int):
                problem_type = "single_label_classification"
            else:
                problem_type = "multi_label_classification"
        if problem_type == "regression":
            loss_fn = F.l1_loss if self.config.regression_loss == "l1" else F.mse_loss
            return loss_fn(logits.view(-1), labels.to(logits.dtype).view(-1))
        if problem_type == "single_label_classification":
            return F.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))

    def forward(
        self,
        text_features: torch.Tensor | None = None,
        audio_features: torch.Tensor | None = None,
        vision_features: torch.Tensor | None = None,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        text_lengths: torch.Tensor | None = None,
        audio_lengths: torch.Tensor | None = None,
        vision_lengths: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
        audio_mask: torch.Tensor | None = None,
        vision_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> GsiTSequenceClassifierOutput | tuple:
        """Inputs as in :meth:`GsiTModel.forward`; ``labels``: ``[batch]`` scores (regression) or class ids."""
        fused = self.model(
            text_features=text_features,
            audio_features=audio_features,
            vision_features=vision_features,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            text_lengths=text_lengths,
            audio_lengths=audio_lengths,
            vision_lengths=vision_lengths,
            text_mask=text_mask,
            audio_mask=audio_mask,
            vision_mask=vision_mask,
            return_sequences=False,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        logits = self.head(fused.fused_representation)
        loss = None if labels is None else self._loss(logits, labels)
        output = GsiTSequenceClassifierOutput(
            loss=loss,
            logits=logits,
            fused_representation=fused.fused_representation,
            hidden_states=fused.hidden_states,
            attentions=fused.attentions,
        )
        return output if return_dict is not False else output.to_tuple()


__all__ = [
    "GsiTForSequenceClassification",
    "GsiTModel",
    "GsiTModelOutput",
    "GsiTPreTrainedModel",
    "GsiTSequenceClassifierOutput",
]
