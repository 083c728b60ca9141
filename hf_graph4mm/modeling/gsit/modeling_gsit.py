"""GsiT and its MulT baseline as transformers ``PreTrainedModel``s.

``GsiTModel``: (optional text encoder) -> Conv1d projection per modality -> fusion
("interlaced" = GsiT, "mult" = MulT) -> the last real step of each modality, concatenated
(``6 * hidden_size``, the fused representation).
``GsiTForSequenceClassification``: + the published head of the chosen fusion and the loss.

Inputs are right-padded sequences; each modality takes its real lengths (``*_lengths``,
``[batch]``) or a mask (``*_mask``, ``[batch, time]``, 1 = real), or neither (all real).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, PreTrainedModel
from transformers.utils import ModelOutput

from ...kernels import InterlacedAttentionInterface, check_implementation
from ..sharing import ShareableModelMixin
from .configuration_gsit import GsiTConfig
from .layers_gsit import MODALITIES, GsiTModalityProjection, InterlacedFusion, MulTFusion, last_real_steps

# What the text encoder (a stock transformers model, not our kernels) runs under each of our backends.
TEXT_ENCODER_ATTENTION = {"eager": "eager", "sdpa": "sdpa", "triton": "sdpa", "flex_attention": "sdpa"}


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
    """

    fused_representation: torch.FloatTensor | None = None
    text_hidden_state: torch.FloatTensor | None = None
    vision_hidden_state: torch.FloatTensor | None = None
    audio_hidden_state: torch.FloatTensor | None = None
    sequence_lengths: torch.LongTensor | None = None


@dataclass
class GsiTSequenceClassifierOutput(ModelOutput):
    """Output of :class:`GsiTForSequenceClassification`.

    Args:
        loss: scalar, when ``labels`` are given (L1/MSE for ``num_labels == 1``, else cross-entropy).
        logits: ``[batch, num_labels]``.
        fused_representation: ``[batch, 6 * hidden_size]``, the head's input.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    fused_representation: torch.FloatTensor | None = None


def _real_lengths(
    name: str, features: torch.Tensor, lengths: torch.Tensor | None, mask: torch.Tensor | None
) -> torch.Tensor:
    """``[batch]`` long real lengths of modality ``name`` from its lengths, its mask or neither."""
    batch, time = features.shape[:2]
    if lengths is not None and mask is not None:
        raise ValueError(f"give either {name}_lengths or {name}_mask, not both")
    if mask is not None:
        if tuple(mask.shape) != (batch, time):
            raise ValueError(
                f"{name}_mask has shape {list(mask.shape)}; expected [batch, time] = [{batch}, {time}]"
            )
        mask = mask.bool()
        lengths = mask.sum(dim=1)
        prefix = torch.arange(time, device=mask.device)[None, :] < lengths[:, None]
        if not torch.equal(mask, prefix):
            sample = int((mask != prefix).any(dim=1).nonzero()[0])
            raise ValueError(
                f"{name}_mask of sample {sample} is not right-padded: real steps must come first, padding last"
            )
        return lengths.to(features.device)
    if lengths is None:
        return torch.full((batch,), time, dtype=torch.long, device=features.device)
    lengths = torch.as_tensor(lengths, device=features.device)
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool or tuple(lengths.shape) != (batch,):
        raise ValueError(
            f"{name}_lengths must be an integer tensor of shape [{batch}], got {lengths.dtype} "
            f"{list(lengths.shape)}"
        )
    out_of_range = (lengths < 0) | (lengths > time)
    if out_of_range.any():
        sample = int(out_of_range.nonzero()[0])
        raise ValueError(
            f"{name}_lengths[{sample}] = {int(lengths[sample])} is outside [0, {time}] (the padded length)"
        )
    return lengths.long()


class GsiTPreTrainedModel(ShareableModelMixin, PreTrainedModel):
    """Shared base: config class, weight init (transformers' default), attention backend choice.

    ``attn_implementation`` names the backend of the interlaced fusion attention
    ("eager", "sdpa", "triton", "flex_attention"; see ``hf_graph4mm.kernels``). A text encoder,
    being a stock transformers model, runs "sdpa" when the fusion runs "triton" or "flex_attention". The MulT baseline's dense
    cross-modal attentions always run torch's SDPA (the name only matters for "interlaced").
    """

    config_class = GsiTConfig
    base_model_prefix = "model"
    _no_split_modules = ["GsiTLayer"]

    def get_correct_attn_implementation(
        self, requested_attention: str | None, is_init_check: bool = False
    ) -> str:
        name = default_attn_implementation() if requested_attention is None else requested_attention
        check_implementation(name)
        if self.config.fusion == "interlaced":  # resolve now: a backend that cannot load fails here
            InterlacedAttentionInterface().get_interface(name)
        return name

    def set_attn_implementation(self, attn_implementation: str | dict, allow_all_kernels: bool = False):
        """Switch the fusion attention backend (and the text encoder's matching one)."""
        if isinstance(attn_implementation, dict):
            if set(attn_implementation) - {""}:
                raise ValueError(
                    f"GsiT takes one attention implementation for the whole model; got keys {sorted(attn_implementation)}"
                )
            attn_implementation = attn_implementation[""]
        name = self.get_correct_attn_implementation(attn_implementation)
        self.config._attn_implementation_internal = name
        text_encoder = self.get_text_encoder()
        if text_encoder is not None:
            text_encoder.set_attn_implementation(TEXT_ENCODER_ATTENTION[name])

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
            self.text_encoder = AutoModel.from_config(
                config.text_encoder_config,
                attn_implementation=TEXT_ENCODER_ATTENTION[config._attn_implementation],
            )
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
        """
        text_features, text_lengths, text_mask = self._text_inputs(
            text_features, input_ids, attention_mask, token_type_ids, text_lengths, text_mask
        )
        features = {"text": text_features, "audio": audio_features, "vision": vision_features}
        given_lengths = {"text": text_lengths, "audio": audio_lengths, "vision": vision_lengths}
        given_masks = {"text": text_mask, "audio": audio_mask, "vision": vision_mask}
        dims = self.config.feature_dims
        for m in MODALITIES:
            if features[m] is None:
                raise ValueError(f"{m}_features is missing: GsiT needs text, audio and vision inputs")
            if features[m].dim() != 3 or features[m].shape[-1] != dims[m]:
                raise ValueError(
                    f"{m}_features must be [batch, time, {dims[m]}] ({m}_dim in the config), "
                    f"got {list(features[m].shape)}"
                )
        batch_sizes = {m: features[m].shape[0] for m in MODALITIES}
        if len(set(batch_sizes.values())) != 1:
            raise ValueError(f"the modalities disagree on the batch size: {batch_sizes}")

        streams, lengths = {}, {}
        for m in MODALITIES:
            real = _real_lengths(m, features[m], given_lengths[m], given_masks[m])
            streams[m], lengths[m] = self.projections[m](features[m], real)
        if return_sequences:
            fused = self.fusion(streams, lengths)
            last_steps = list(last_real_steps(fused, lengths).values())
        else:
            fused = {}
            last_steps = list(self.fusion(streams, lengths, last_steps_only=True).values())
        output = GsiTModelOutput(
            fused_representation=torch.cat(last_steps, dim=-1),
            text_hidden_state=fused.get("text"),
            vision_hidden_state=fused.get("vision"),
            audio_hidden_state=fused.get("audio"),
            sequence_lengths=torch.stack([lengths[m] for m in MODALITIES], dim=1),
        )
        return output if return_dict is not False else output.to_tuple()


class GsiTHead(nn.Module):
    """GsiT's published head: Linear(6d -> d), ReLU, dropout, Linear(d -> num_labels)."""

    def __init__(self, config: GsiTConfig):
        super().__init__()
        self.dense = nn.Linear(6 * config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.output_dropout)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        """``fused: [batch, 6d]`` -> ``[batch, num_labels]``."""
        return self.out_proj(self.dropout(F.relu(self.dense(fused))))


class MulTHead(nn.Module):
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
        self.head = GsiTHead(config) if config.fusion == "interlaced" else MulTHead(config)
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
        ).fused_representation
        logits = self.head(fused)
        loss = None if labels is None else self._loss(logits, labels)
        output = GsiTSequenceClassifierOutput(loss=loss, logits=logits, fused_representation=fused)
        return output if return_dict is not False else output.to_tuple()


__all__ = [
    "GsiTForSequenceClassification",
    "GsiTModel",
    "GsiTModelOutput",
    "GsiTPreTrainedModel",
    "GsiTSequenceClassifierOutput",
]
