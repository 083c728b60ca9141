"""The published settings (hf_graph4mm.modeling.gsit.presets) against a table written from the published
configuration: GsiT repository, src/MMSA-GsiT/config/config_regression.json (key "gsit": cmg_cfg and the
dataset parameters; key "mult"), and the code that reads it (models/custom/GSIT/GSIT.py, modules/CMG,
trains/custom/GSIT.py; MMSA's models/singleTask/MULT.py and trains/singleTask/MULT.py)."""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

import pytest

from hf_graph4mm import GsiTConfig, GsiTForSequenceClassification
from hf_graph4mm.modeling.gsit.presets import GSIT_PRESETS, MULT_PRESETS, published_preset
from hf_graph4mm.training.arguments import parse_arguments

# field: (MOSI, MOSEI, SIMS). Config fields first, then the training loop's.
PUBLISHED_GSIT = {
    "fusion": ("interlaced",) * 3,
    "text_dim": (768, 768, 768),  # cmg_cfg text_out
    "audio_dim": (5, 74, 33),  # self_super_cfg a_feat_in
    "vision_dim": (20, 35, 709),  # self_super_cfg v_feat_in
    "hidden_size": (128, 128, 128),  # cmg_cfg dst_feature_dim_nheads[0]
    "num_attention_heads": (4, 4, 4),  # cmg_cfg dst_feature_dim_nheads[1]
    "num_layers": (4, 4, 4),  # cmg_cfg nlevels
    "tie_layers": (True,) * 3,  # the encoder repeats one layer object
    "text_kernel_size": (5, 5, 5),  # cmg_cfg conv1d_kernel_size_l
    "audio_kernel_size": (5, 5, 5),  # cmg_cfg conv1d_kernel_size_a
    "vision_kernel_size": (5, 5, 5),  # cmg_cfg conv1d_kernel_size_v
    "embedding_dropout": (0.2, 0.2, 0.2),  # cmg_cfg embed_dropout
    "attention_dropout": (0.0, 0.0, 0.0),  # cmg_cfg attn_dropout 0.3: configured, never applied
    "activation_dropout": (0.0, 0.0, 0.0),  # cmg_cfg relu_dropout
    "residual_dropout": (0.0, 0.0, 0.0),  # cmg_cfg res_dropout
    "text_dropout": (0.5, 0.5, 0.5),  # cmg_cfg text_dropout (GSIT.py, on the BERT output)
    "output_dropout": (0.0, 0.0, 0.0),  # post_fusion_dropout (GSIT.py)
    "regression_loss": ("l1",) * 3,  # trains/custom/GSIT.py weighted_loss: mean |y - t|
    "batch_size": (8, 8, 8),  # batch_size
    "learning_rate": (5e-4, 5e-4, 1e-4),  # learning_rate_other
    "text_encoder_learning_rate": (5e-5, 5e-6, 5e-5),  # learning_rate_bert
    "weight_decay": (1e-3, 1e-3, 1e-3),  # weight_decay_other / weight_decay_bert, torch.optim.Adam
    "optimizer": ("adam",) * 3,  # optim.Adam(optimizer_grouped_parameters)
    "gradient_accumulation_steps": (8, 8, 8),  # commonParams update_epochs
    "grad_clip_value": (None,) * 3,  # cmg_cfg grad_clip 0.6 is never read: no clipping
    "lr_scheduler": ("constant",) * 3,  # no scheduler
    "lr_plateau_patience": (None,) * 3,
    "early_stopping_patience": (8, 8, 8),  # commonParams early_stop
    "padded_lengths": ((50, 375, 500), (50, 500, 500), (39, 400, 55)),  # text, audio, vision
}
PUBLISHED_MULT = {
    "fusion": ("mult",) * 3,
    "text_dim": (768, 768, 768),  # feature_dims
    "audio_dim": (5, 74, 33),
    "vision_dim": (20, 35, 709),
    "hidden_size": (128, 128, 50),  # dst_feature_dim_nheads[0]
    "num_attention_heads": (4, 4, 10),  # dst_feature_dim_nheads[1]
    "num_layers": (4, 4, 2),  # nlevels
    "tie_layers": (True,) * 3,  # as in the MulT GsiT compares against (see the preset's notes)
    "text_kernel_size": (5, 5, 5),  # conv1d_kernel_size_l
    "audio_kernel_size": (5, 1, 1),  # conv1d_kernel_size_a
    "vision_kernel_size": (5, 3, 1),  # conv1d_kernel_size_v
    "embedding_dropout": (0.2, 0.0, 0.1),  # embed_dropout
    "attention_dropout": (0.3, 0.4, 0.2),  # attn_dropout (text keys, memories)
    "activation_dropout": (0.0, 0.0, 0.0),  # relu_dropout
    "residual_dropout": (0.0, 0.0, 0.2),  # res_dropout
    "text_dropout": (0.5, 0.3, 0.3),  # text_dropout (MULT.py, on the text input)
    "output_dropout": (0.5, 0.5, 0.1),  # output_dropout (the head's residual block)
    "regression_loss": ("l1",) * 3,  # nn.L1Loss
    "batch_size": (32, 8, 16),  # batch_size
    "learning_rate": (2e-3, 5e-4, 2e-3),  # learning_rate
    "text_encoder_learning_rate": (None,) * 3,  # use_bert false
    "weight_decay": (None,) * 3,  # weight_decay is configured; optim.Adam(lr=...) has none
    "optimizer": ("adam",) * 3,
    "gradient_accumulation_steps": (8, 8, 8),  # commonParams update_epochs
    "grad_clip_value": (0.6, 0.6, 0.6),  # grad_clip, clip_grad_value_
    "lr_scheduler": ("reduce_lr_on_plateau",) * 3,  # ReduceLROnPlateau(factor=0.1)
    "lr_plateau_patience": (5, 20, 10),  # patience
    "early_stopping_patience": (8, 8, 8),  # commonParams early_stop
    "padded_lengths": ((50, 375, 500), (50, 500, 500), (39, 400, 55)),
}
DATASETS = ("mosi", "mosei", "sims")


def preset_fields(preset) -> dict:
    values = dict(preset.config)
    values.update(asdict(preset.training))
    values["padded_lengths"] = tuple(preset.padded_lengths[m] for m in ("text", "audio", "vision"))
    return values


@pytest.mark.parametrize("table, presets", [(PUBLISHED_GSIT, GSIT_PRESETS), (PUBLISHED_MULT, MULT_PRESETS)])
@pytest.mark.parametrize("index, dataset", list(enumerate(DATASETS)))
def test_every_preset_field_is_the_published_value(table, presets, index, dataset):
    values = preset_fields(presets[dataset])
    assert set(values) == set(table)  # nothing the table does not check, nothing missing
    for name, published in table.items():
        assert values[name] == published[index], f"{dataset} {name}"


def test_every_training_field_is_in_the_table():
    assert {f.name for f in fields(type(GSIT_PRESETS["mosi"].training))} <= set(PUBLISHED_GSIT)


@pytest.mark.parametrize("fusion", ["interlaced", "mult"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_presets_build_models(dataset, fusion):
    config = GsiTConfig.from_preset(dataset, fusion=fusion, hidden_size=20, num_attention_heads=2, num_layers=1)
    assert config.fusion == fusion and config.hidden_size == 20  # overrides win
    assert config.text_dropout == published_preset(dataset, fusion).config["text_dropout"]
    GsiTForSequenceClassification(config)


def test_the_default_config_is_the_published_mosi_setting():
    assert GsiTConfig() == GsiTConfig.from_preset("mosi")
    assert GsiTConfig.from_preset("CMU-MOSI") == GsiTConfig.from_preset("mosi")


def test_unknown_presets_are_refused():
    with pytest.raises(ValueError, match="no published preset"):
        GsiTConfig.from_preset("iemocap")
    with pytest.raises(ValueError, match="fusion"):
        published_preset("mosi", fusion="concat")


CONFIGS = Path(__file__).parents[3] / "configs"


@pytest.mark.parametrize("name", ["mosi_gsit", "mosei_gsit", "sims_gsit", "mosi_mult"])
def test_shipped_configs_train_with_the_preset(name):
    model_args, _, training_args = parse_arguments(["--config", str(CONFIGS / f"{name}.yaml")])
    preset = published_preset(model_args.preset, model_args.gsit_fusion)
    assert name.startswith(preset.dataset) and model_args.published_optimizer
    training = preset.training
    assert training_args.per_device_train_batch_size == training.batch_size
    assert training_args.learning_rate == training.learning_rate
    assert training_args.weight_decay == (training.weight_decay or 0.0)
    assert training_args.gradient_accumulation_steps == training.gradient_accumulation_steps
    assert training_args.max_grad_norm == 0.0  # no norm clipping (MulT clips values: the preset's callback)
    assert training_args.lr_scheduler_type.value == training.lr_scheduler
    if training.lr_plateau_patience is not None:
        assert training_args.lr_scheduler_kwargs == {"factor": 0.1, "patience": training.lr_plateau_patience}
    assert model_args.early_stopping_patience == training.early_stopping_patience
    # no model field is set in the file: the preset's values are the model's
    assert all(getattr(model_args, f) is None for f in ("hidden_size", "num_layers", "num_attention_heads"))
