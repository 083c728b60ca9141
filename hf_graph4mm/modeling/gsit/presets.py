"""The published GsiT and MulT settings for CMU-MOSI, CMU-MOSEI and CH-SIMS, as presets.

Written from the published configuration (GsiT repository, ``src/MMSA-GsiT/config/config_regression.json``:
key ``"gsit"`` (its ``cmg_cfg`` and dataset parameters) for GsiT, key ``"mult"`` for MulT) and from the
code that reads it: ``models/custom/GSIT/GSIT.py`` and ``modules/CMG`` (the model), ``trains/custom/GSIT.py``
(GsiT's training loop) and MMSA's ``trains/singleTask/MULT.py`` (MulT's). Only what that code reads is a
preset value; a configured field the code never reads is noted, not applied (``docs/GSIT_PRESETS.md``
lists every field with the line that reads it).

    from hf_graph4mm import GsiTConfig, GsiTForSequenceClassification
    model = GsiTForSequenceClassification(GsiTConfig.from_preset("mosei"))   # GsiT, published MOSEI setting
    mult = GsiTConfig.from_preset("sims", fusion="mult", tie_layers=False)    # overrides after the name
    published_preset("mosi").training.learning_rate                           # 5e-4

``GsiTConfig()`` is the GsiT MOSI preset. The published code's quirks are not defaults; each stays an
opt-in: its attention dropout is configured (0.3) but never applied (``attention_dropout=0.3`` applies
it), its queries are scaled twice (scores scaled by ``1/head_dim``; not a config switch: scale the q
projections, as ``benchmarks/published_reference.with_double_scaled_queries`` does), and it has no key
padding mask (give no ``*_lengths`` / ``*_mask``: every step then counts as real).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

DATASETS = ("mosi", "mosei", "sims")


@dataclass(frozen=True)
class PublishedTraining:
    """How the published training loop trains (``Trainer`` fields it maps to in brackets).

    Attributes:
        batch_size: samples per forward (``per_device_train_batch_size``).
        learning_rate: every parameter but the text encoder's (``learning_rate``).
        text_encoder_learning_rate: the BERT encoder's, when the model holds one.
        weight_decay: both groups (L2 added to the gradient: ``torch.optim.Adam(weight_decay=...)``, not
            AdamW's decoupled decay); BERT biases and LayerNorms get none. None: the loop's optimizer
            has no weight decay (the configured value is not read).
        gradient_accumulation_steps: ``update_epochs``: one optimizer step per this many batches (the
            published loop sums their gradients; ``Trainer`` averages them).
        grad_clip_value: ``clip_grad_value_`` after every backward, or None (no clipping at all).
        lr_scheduler: "constant", or "reduce_lr_on_plateau" (factor 0.1 on the validation loss).
        lr_plateau_patience: that scheduler's patience, in epochs.
        early_stopping_patience: epochs without a better validation loss before training stops.
    """

    batch_size: int
    learning_rate: float
    text_encoder_learning_rate: float | None
    weight_decay: float | None
    gradient_accumulation_steps: int
    grad_clip_value: float | None
    lr_scheduler: str
    lr_plateau_patience: int | None
    early_stopping_patience: int
    optimizer: str = "adam"


@dataclass(frozen=True)
class GsiTPreset:
    """One published setting: ``config`` (:class:`~.GsiTConfig` fields), ``training``, the release's padded
    lengths (text, audio, vision), and what of the published configuration is not applied (``notes``)."""

    dataset: str
    fusion: str
    config: MappingProxyType
    training: PublishedTraining
    padded_lengths: MappingProxyType
    notes: tuple[str, ...] = field(default=())


_FEATURE_DIMS = {  # (text, audio, vision): GsiT's self_super_cfg a_feat_in / v_feat_in; MMSA's feature_dims
    "mosi": (768, 5, 20),
    "mosei": (768, 74, 35),
    "sims": (768, 33, 709),
}
_PADDED_LENGTHS = {"mosi": (50, 375, 500), "mosei": (50, 500, 500), "sims": (39, 400, 55)}

_GSIT_NOTES = (
    "attn_dropout 0.3 (attn_dropout_a 0.2, attn_dropout_v 0.0) is configured but never applied: "
    "attention_dropout 0.0; set attention_dropout=0.3 to apply the configured value",
    "queries scaled twice (scores by 1/head_dim): not a default, see benchmarks/published_reference.py",
    "no key padding mask: padded steps are attended to unless no *_lengths / *_mask is given",
    "grad_clip 0.6 is configured but trains/custom/GSIT.py never clips",
    "cmg_cfg output_dropout 0.5 and cls_dropout 0.1 are not read; the head's dropout is post_fusion_dropout",
)
_MULT_NOTES = (
    "attention dropout by key modality: attn_dropout for text keys and the memories, attn_dropout_a for "
    "audio keys, attn_dropout_v for vision keys; one attention_dropout (attn_dropout) here",
    "attn_mask true: the published MulT masks future steps in every attention; not represented here",
    "memory transformers run max(nlevels, 3) layers; here num_layers (the same for nlevels >= 3)",
    "weight_decay is configured but MULT.py's Adam has none; grad_clip is clip_grad_value_ per backward",
    "depth-tied as in the MulT GsiT compares against (5.251M parameters); MMSA's MulT is untied",
)


def _preset(dataset: str, fusion: str, values: dict, training: PublishedTraining, notes) -> GsiTPreset:
    """A read-only preset: the dataset's feature sizes and padded lengths, then ``values``."""
    dims = dict(zip(("text_dim", "audio_dim", "vision_dim"), _FEATURE_DIMS[dataset]))
    lengths = dict(zip(("text", "audio", "vision"), _PADDED_LENGTHS[dataset]))
    config = MappingProxyType({"fusion": fusion, **dims, **values})
    return GsiTPreset(dataset, fusion, config, training, MappingProxyType(lengths), notes)


def _gsit(dataset: str, learning_rate: float, text_encoder_learning_rate: float) -> GsiTPreset:
    config = dict(
        hidden_size=128,  # cmg_cfg dst_feature_dim_nheads [128, 4]
        num_attention_heads=4,
        num_layers=4,  # cmg_cfg nlevels
        tie_layers=True,
        text_kernel_size=5,  # cmg_cfg conv1d_kernel_size_l / _a / _v
        audio_kernel_size=5,
        vision_kernel_size=5,
        embedding_dropout=0.2,  # cmg_cfg embed_dropout
        attention_dropout=0.0,  # configured 0.3, never applied (see notes)
        activation_dropout=0.0,  # cmg_cfg relu_dropout
        residual_dropout=0.0,  # cmg_cfg res_dropout
        text_dropout=0.5,  # cmg_cfg text_dropout, on the BERT output
        output_dropout=0.0,  # post_fusion_dropout
        regression_loss="l1",
    )
    training = PublishedTraining(
        batch_size=8,
        learning_rate=learning_rate,  # learning_rate_other
        text_encoder_learning_rate=text_encoder_learning_rate,  # learning_rate_bert
        weight_decay=1e-3,  # weight_decay_other, weight_decay_bert
        gradient_accumulation_steps=8,  # commonParams update_epochs
        grad_clip_value=None,
        lr_scheduler="constant",
        lr_plateau_patience=None,
        early_stopping_patience=8,  # commonParams early_stop
    )
    return _preset(dataset, "interlaced", config, training, _GSIT_NOTES)


def _mult(dataset: str, values: dict[str, Any], training: dict[str, Any]) -> GsiTPreset:
    training = PublishedTraining(
        text_encoder_learning_rate=None,
        weight_decay=None,
        gradient_accumulation_steps=8,  # commonParams update_epochs
        grad_clip_value=0.6,
        lr_scheduler="reduce_lr_on_plateau",
        early_stopping_patience=8,
        **training,
    )
    return _preset(dataset, "mult", dict(tie_layers=True, regression_loss="l1", **values), training, _MULT_NOTES)


def _mult_values(width, heads, levels, kernels, embed, residual, activation, attention, text, output):
    return dict(
        hidden_size=width,
        num_attention_heads=heads,
        num_layers=levels,
        text_kernel_size=kernels[0],
        audio_kernel_size=kernels[1],
        vision_kernel_size=kernels[2],
        embedding_dropout=embed,
        residual_dropout=residual,
        activation_dropout=activation,
        attention_dropout=attention,
        text_dropout=text,
        output_dropout=output,
    )


GSIT_PRESETS = MappingProxyType(
    {
        "mosi": _gsit("mosi", 5e-4, 5e-5),
        "mosei": _gsit("mosei", 5e-4, 5e-6),
        "sims": _gsit("sims", 1e-4, 5e-5),
    }
)
MULT_PRESETS = MappingProxyType(
    {
        "mosi": _mult(
            "mosi",
            _mult_values(128, 4, 4, (5, 5, 5), 0.2, 0.0, 0.0, 0.3, 0.5, 0.5),
            dict(batch_size=32, learning_rate=2e-3, lr_plateau_patience=5),
        ),
        "mosei": _mult(
            "mosei",
            _mult_values(128, 4, 4, (5, 1, 3), 0.0, 0.0, 0.0, 0.4, 0.3, 0.5),
            dict(batch_size=8, learning_rate=5e-4, lr_plateau_patience=20),
        ),
        "sims": _mult(
            "sims",
            _mult_values(50, 10, 2, (5, 1, 1), 0.1, 0.2, 0.0, 0.2, 0.3, 0.1),
            dict(batch_size=16, learning_rate=2e-3, lr_plateau_patience=10),
        ),
    }
)


def published_preset(dataset: str, fusion: str = "interlaced") -> GsiTPreset:
    """The published setting of ``fusion`` ("interlaced" = GsiT, "mult" = MulT) on ``dataset``.

    Raises:
        ValueError: an unknown dataset or fusion.
    """
    presets = {"interlaced": GSIT_PRESETS, "mult": MULT_PRESETS}.get(fusion)
    if presets is None:
        raise ValueError(f"fusion must be 'interlaced' or 'mult', got {fusion!r}")
    key = dataset.lower().replace("cmu-", "").replace("ch-", "")
    if key not in presets:
        raise ValueError(f"no published preset for {dataset!r}; use one of {DATASETS}")
    return presets[key]


__all__ = ["DATASETS", "GSIT_PRESETS", "MULT_PRESETS", "GsiTPreset", "PublishedTraining", "published_preset"]
