"""Switching attention backends as transformers does: a plain name reaches every part, a dict targets parts.

Spies on the backend tables show which function actually ran (not only what the config says): the
graph structure modules, the MM-QFormer, and the backbones.
"""

from __future__ import annotations

import pytest
import torch

from hf_graph4mm import Graph4MMConfig, Graph4MMForConditionalGeneration
from hf_graph4mm.modeling.graph4mm import qformer, structure
from hf_graph4mm.testing import graph4mm_batch, tiny_graph4mm_config

BACKBONES = ("vision_config", "text_config")


def build(**overrides):
    torch.manual_seed(0)
    return Graph4MMForConditionalGeneration(tiny_graph4mm_config(**overrides)).eval()


@pytest.fixture
def spies(monkeypatch):
    """Count each backend's calls in our two attention tables (a model resolves its backends through them)."""
    calls = []
    for table in (structure.HOP_DIFFUSED_ATTENTION_FUNCTIONS, qformer.KEY_MASKED_ATTENTION_FUNCTIONS):
        for name in ("eager", "sdpa"):
            original = table.get_interface(name)

            def spy(*args, _original=original, _core=table.core, _name=name, **kwargs):
                calls.append((_core, _name))
                return _original(*args, **kwargs)

            monkeypatch.setitem(table._local_mapping, name, spy)
    return calls


def backbone_backends(model):
    return model.vision_model.config._attn_implementation, model.language_model.config._attn_implementation


def test_set_attn_implementation_switches_the_qformer_and_the_graph_modules(spies):
    model = build()
    batch = graph4mm_batch(model.config)
    with torch.no_grad():
        model(**batch)
    assert set(spies) == {("hop_diffused", "eager"), ("key_masked", "eager")}  # the default: the reference
    spies.clear()
    model.set_attn_implementation("sdpa")
    assert model.config.qformer_config._attn_implementation == "sdpa"
    with torch.no_grad():
        model(**batch)
    # text and image subgraph, then self- and cross-attention per Q-Former layer
    assert sorted(spies) == sorted([("hop_diffused", "sdpa")] * 2 + [("key_masked", "sdpa")] * 2)


@pytest.mark.parametrize("name", ["eager", "sdpa"])
def test_a_plain_name_reaches_the_backbones(name):
    model = build()
    model.set_attn_implementation(name)
    assert backbone_backends(model) == (name, name)
    layer = model.language_model.model.decoder.layers[0].self_attn
    assert layer.config._attn_implementation == name  # the module the LM reads it from


def test_triton_runs_our_kernels_and_sdpa_in_the_backbones(monkeypatch):
    model = build()
    model.set_attn_implementation("triton")  # the tests run Triton in its interpreter
    assert model.config._attn_implementation == model.config.qformer_config._attn_implementation == "triton"
    assert backbone_backends(model) == ("sdpa", "sdpa")
    assert model.text_structure.attention_function.__name__ == "hop_diffused_attention_triton"
    assert model.qformer.layers[0].self_attention.attention_function.__name__ == "key_masked_attention_sdpa"


def test_a_dict_targets_parts():
    model = build()
    model.set_attn_implementation({"": "sdpa", "text_config": "eager", "qformer_config": "eager"})
    assert model.config._attn_implementation == "sdpa"
    assert model.config.qformer_config._attn_implementation == "eager"
    assert backbone_backends(model) == ("sdpa", "eager")


def test_the_config_setter_spreads_a_name_to_every_sub_config():
    config = tiny_graph4mm_config()
    for name in ("eager", "sdpa"):
        config._attn_implementation = name
        assert {getattr(config, key)._attn_implementation for key in (*BACKBONES, "qformer_config")} == {name}
    config._attn_implementation = "triton"
    assert [getattr(config, key)._attn_implementation for key in (*BACKBONES, "qformer_config")] == [
        "sdpa",
        "sdpa",
        "triton",
    ]


def test_capability_flags_are_declared_and_flash_is_refused(tmp_path):
    assert Graph4MMForConditionalGeneration._supports_sdpa and Graph4MMForConditionalGeneration._supports_flex_attn
    assert not getattr(Graph4MMForConditionalGeneration, "_supports_flash_attn", False)
    assert {"QFormerLayer", "HopDiffusedAttention"} <= set(Graph4MMForConditionalGeneration._no_split_modules)
    build().save_pretrained(tmp_path)
    with pytest.raises((ValueError, ImportError)):
        Graph4MMForConditionalGeneration.from_pretrained(tmp_path, attn_implementation="flash_attention_2")


def test_no_split_modules_after_init_name_our_blocks_and_the_backbones_layers():
    model = build()
    assert {"QFormerLayer", "HopDiffusedAttention", "CLIPEncoderLayer", "OPTDecoderLayer"} <= model._no_split_modules
    present = {type(module).__name__ for module in model.modules()}
    assert {"QFormerLayer", "HopDiffusedAttention"} <= present


def test_a_config_edited_directly_takes_effect_at_the_next_call(spies):
    model = build()
    model.config._attn_implementation = "sdpa"  # a user editing the config, not calling set_attn_implementation
    with torch.no_grad():
        model(**graph4mm_batch(model.config))
    assert ("hop_diffused", "sdpa") in spies and ("key_masked", "sdpa") in spies


def test_the_qformer_sub_config_is_saved_without_a_backend(tmp_path):
    model = build()
    model.set_attn_implementation("sdpa")
    model.save_pretrained(tmp_path)
    loaded = Graph4MMConfig.from_pretrained(tmp_path)
    assert loaded.qformer_config._attn_implementation in (None, "eager")  # backends are chosen at load time
