"""``hf-graph4mm train`` with a published preset: the model it builds and the published optimizer."""

from __future__ import annotations

import torch
from transformers import TrainingArguments

from hf_graph4mm import GsiTConfig, GsiTForSequenceClassification
from hf_graph4mm.modeling.gsit.presets import published_preset
from hf_graph4mm.testing.samples.mmsa import write_mmsa_sample
from hf_graph4mm.training.arguments import DataArguments, ModelArguments
from hf_graph4mm.training.gsit_task import (
    build_gsit_model,
    load_gsit_dataset,
    published_optimizer,
    training_callbacks,
)


def _arguments(tmp_path, **values):
    return TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", **values)


def test_a_preset_sets_the_model_and_the_data_sets_the_feature_sizes(tmp_path):
    pickle = write_mmsa_sample(tmp_path / "data")
    dataset = load_gsit_dataset(DataArguments(dataset="mmsa", raw_dir=str(pickle)))
    model_args = ModelArguments(model_family="gsit", gsit_fusion="mult", preset="sims", num_layers=1)
    config = build_gsit_model(model_args, dataset["train"]).config
    expected = GsiTConfig.from_preset("sims", fusion="mult", text_dim=768, audio_dim=5, vision_dim=20, num_layers=1)
    assert config.to_diff_dict() == expected.to_diff_dict()


def test_the_published_optimizer_is_adam_with_l2_decay_per_accumulated_step(tmp_path):
    model = GsiTForSequenceClassification(GsiTConfig(hidden_size=8, num_attention_heads=2, num_layers=1))
    model_args = ModelArguments(model_family="gsit", preset="mosei", published_optimizer=True)
    arguments = _arguments(tmp_path, learning_rate=5e-4, weight_decay=1e-3, gradient_accumulation_steps=8)
    optimizer = published_optimizer(model, model_args, arguments)
    assert type(optimizer) is torch.optim.Adam
    (group,) = optimizer.param_groups  # no text encoder: one group
    assert group["lr"] == 5e-4 and group["weight_decay"] == 1e-3 / 8
    assert sum(p.numel() for p in group["params"]) == sum(p.numel() for p in model.parameters())
    assert training_callbacks(model_args) == []  # GsiT: no clipping, no early stopping asked


def test_the_text_encoder_trains_at_the_presets_own_rate_with_undecayed_biases(tmp_path):
    from transformers import BertConfig

    encoder = BertConfig(
        vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16
    ).to_dict()
    model = GsiTForSequenceClassification(
        GsiTConfig(hidden_size=8, num_attention_heads=2, num_layers=1, text_encoder_config=encoder)
    )
    model_args = ModelArguments(model_family="gsit", preset="mosei", published_optimizer=True)
    optimizer = published_optimizer(model, model_args, _arguments(tmp_path, learning_rate=5e-4, weight_decay=1e-3))
    other, decayed, undecayed = optimizer.param_groups
    assert decayed["lr"] == undecayed["lr"] == published_preset("mosei").training.text_encoder_learning_rate
    assert undecayed["weight_decay"] == 0.0 and decayed["weight_decay"] == other["weight_decay"] == 1e-3
    named = dict(model.get_text_encoder().named_parameters())
    assert {id(p) for p in undecayed["params"]} == {id(p) for n, p in named.items() if "bias" in n or "LayerNorm" in n}
    total = sum(len(group["params"]) for group in optimizer.param_groups)
    assert total == len(list(model.parameters()))


def test_mult_presets_clip_gradient_values_before_each_step():
    model_args = ModelArguments(
        model_family="gsit", gsit_fusion="mult", preset="mosi", published_optimizer=True, early_stopping_patience=8
    )
    early_stop, clip = training_callbacks(model_args)
    assert early_stop.early_stopping_patience == 8
    parameter = torch.nn.Parameter(torch.zeros(3))
    parameter.grad = torch.tensor([2.0, -0.1, -5.0])
    clip.on_pre_optimizer_step(None, None, None, model=torch.nn.ParameterList([parameter]))
    torch.testing.assert_close(parameter.grad, torch.tensor([0.6, -0.1, -0.6]))
