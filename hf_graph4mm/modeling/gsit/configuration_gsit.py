"""GsiT configuration: one config for GsiT (interlaced fusion) and its MulT baseline."""

from __future__ import annotations

from typing import Literal

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from ..attention_parts import attn_implementation_per_part

FUSIONS = ("interlaced", "mult")
REGRESSION_LOSSES = ("l1", "mse")


@strict
class GsiTConfig(PreTrainedConfig):
    r"""Configuration of :class:`GsiTModel` / :class:`GsiTForSequenceClassification`.

    The defaults are the published GsiT CMU-MOSI setting (BERT text features 768-d, audio 5-d,
    vision 20-d, width 128, 4 heads, 4 depth-tied layers, conv kernel 5; dropout 0.2 on each pass's
    input, 0.5 on the text features, none elsewhere): ``GsiTConfig.from_preset("mosi")``. The other
    published settings (GsiT and MulT on MOSI, MOSEI, SIMS) are :meth:`from_preset`'s
    (:mod:`~hf_graph4mm.modeling.gsit.presets`).

    Args:
        text_dim, audio_dim, vision_dim: feature size of each modality's input sequence. With a
            text encoder, ``text_dim`` is taken from the encoder's ``hidden_size``.
        hidden_size: width ``d`` of the cross-modal passes; the self pass runs at ``2 d``.
        num_attention_heads: heads of every attention (must divide ``hidden_size``).
        num_layers: depth of every pass (forward, backward, self; for "mult" every transformer).
        tie_layers: True = one set of layer weights reused at every depth (as published).
        text_kernel_size, audio_kernel_size, vision_kernel_size: Conv1d projection kernels (no
            padding, so a sequence of length ``T`` becomes ``T - k + 1``). The published MOSEI
            MulT baseline uses 5 / 1 / 3.
        embedding_dropout: dropout on each pass's scaled input.
        attention_dropout: dropout on attention probabilities (training only). The published GsiT
            configures 0.3 but never applies it: 0.0 is what it trains with.
        activation_dropout: dropout after the FFN's GELU.
        residual_dropout: dropout on each sub-layer's output before the residual sum.
        text_dropout: dropout on the text features (or the text encoder's output) before the conv.
        output_dropout: dropout inside the prediction head.
        fusion: "interlaced" (GsiT: three shared-weight passes under the Interlaced Mask) or
            "mult" (MulT: six cross-modal transformers and three memory transformers).
        text_encoder_config: an optional BERT-style config (or dict with ``model_type``); the
            model then takes ``input_ids`` / ``attention_mask`` and fine-tunes the encoder.
        text_encoder_name_or_path: alternatively, a Hub id or folder whose config is read here;
            :meth:`GsiTForSequenceClassification.from_text_encoder_pretrained` also loads its weights.
        regression_loss: "l1" (published) or "mse", used when ``num_labels == 1``.
        layer_norm_eps: epsilon of every LayerNorm.
        initializer_range: std of the normal init of linear and conv weights.
    """

    model_type = "gsit"
    attribute_map = {"num_hidden_layers": "num_layers"}  # the name transformers' tooling reads
    sub_configs_defaults = {
        "text_encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert", optional=True)
    }

    text_dim: int = 768
    audio_dim: int = 5
    vision_dim: int = 20
    hidden_size: int = 128
    num_attention_heads: int = 4
    num_layers: int = 4
    tie_layers: bool = True
    text_kernel_size: int = 5
    audio_kernel_size: int = 5
    vision_kernel_size: int = 5
    embedding_dropout: float = 0.2
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    residual_dropout: float = 0.0
    text_dropout: float = 0.5
    output_dropout: float = 0.0
    fusion: Literal["interlaced", "mult"] = "interlaced"
    text_encoder_config: dict | PreTrainedConfig | None = None
    text_encoder_name_or_path: str | None = None
    regression_loss: Literal["l1", "mse"] = "l1"
    layer_norm_eps: float = 1e-5
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        # A sentiment score is the usual target: one output, regression, unless told otherwise.
        kwargs.setdefault("num_labels", 1)
        if self.text_encoder_config is None and self.text_encoder_name_or_path is not None:
            self.text_encoder_config = AutoConfig.from_pretrained(self.text_encoder_name_or_path)
        super().__post_init__(**kwargs)
        if self.text_encoder_config is not None:
            self.text_dim = self.text_encoder_config.hidden_size
        self._check_values()

    def _check_values(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if self.regression_loss not in REGRESSION_LOSSES:
            raise ValueError(
                f"regression_loss must be one of {REGRESSION_LOSSES}, got {self.regression_loss!r}"
            )
        for name in (
            "text_dim",
            "audio_dim",
            "vision_dim",
            "hidden_size",
            "num_attention_heads",
            "num_layers",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("text_kernel_size", "audio_kernel_size", "vision_kernel_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not divisible by num_attention_heads "
                f"{self.num_attention_heads}"
            )
        for name in (
            "embedding_dropout",
            "attention_dropout",
            "activation_dropout",
            "residual_dropout",
            "text_dropout",
            "output_dropout",
        ):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    @classmethod
    def from_preset(cls, dataset: str, fusion: str = "interlaced", **overrides) -> GsiTConfig:
        """The published setting of GsiT (``fusion="interlaced"``) or MulT (``"mult"``) on ``dataset``
        ("mosi", "mosei", "sims"), with ``overrides`` on top (any config field, e.g. ``text_dim``).

        Training settings (batch size, learning rates, accumulation, clipping) are in
        ``hf_graph4mm.modeling.gsit.presets.published_preset(dataset, fusion).training``.
        """
        from .presets import published_preset

        return cls(**{**published_preset(dataset, fusion).config, **overrides})

    @property
    def _attn_implementation(self):
        return self._attn_implementation_internal

    @_attn_implementation.setter
    def _attn_implementation(self, value: str | dict | None):
        """A plain name reaches the fusion attention and the text encoder, which runs "sdpa" under
        "triton" (a stock BERT has no Triton backend); a dict targets parts, as in transformers."""
        if isinstance(value, str):
            value = attn_implementation_per_part(self, value)
        PreTrainedConfig._attn_implementation.fset(self, value)

    @property
    def kernel_sizes(self) -> dict[str, int]:
        """Conv kernel of each modality, keyed "text", "vision", "audio"."""
        return {
            "text": self.text_kernel_size,
            "vision": self.vision_kernel_size,
            "audio": self.audio_kernel_size,
        }

    @property
    def feature_dims(self) -> dict[str, int]:
        """Input feature size of each modality, keyed "text", "vision", "audio"."""
        return {"text": self.text_dim, "vision": self.vision_dim, "audio": self.audio_dim}


__all__ = ["GsiTConfig"]
