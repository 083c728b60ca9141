"""attn_implementation: a plain name reaches every part (backbones run sdpa under "triton"); a dict targets parts."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModel, AutoModelForImageTextToText

from hf_graph4mm import Graph4MMForConditionalGeneration
from hf_graph4mm.kernels import HopDiffusedAttentionInterface
from hf_graph4mm.modeling.graph4mm import structure
from hf_graph4mm.testing import graph4mm_batch as make_batch
from hf_graph4mm.testing import tiny_graph4mm_config as tiny_config


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved tiny model, a batch, and its logits with the eager reference backends."""
    torch.manual_seed(0)
    model = Graph4MMForConditionalGeneration(tiny_config()).eval()
    assert model.config._attn_implementation == "eager"  # our default: the float64-checked reference
    assert model.language_model.config._attn_implementation == "sdpa"  # transformers' default, untouched
    path = tmp_path_factory.mktemp("graph4mm")
    model.save_pretrained(path)
    batch = make_batch(model.config)
    with torch.no_grad():
        return path, batch, model(**batch).logits


def backends(model):
    return (
        model.config._attn_implementation,
        model.language_model.config._attn_implementation,
        model.vision_model.config._attn_implementation,
    )


@pytest.mark.parametrize(
    "requested,expected",
    [
        ("eager", ("eager", "eager", "eager")),
        ("sdpa", ("sdpa", "sdpa", "sdpa")),
        ("flex_attention", ("flex_attention", "flex_attention", "flex_attention")),
        ({"": "sdpa", "text_config": "eager"}, ("sdpa", "eager", "sdpa")),
        ({"": "eager", "vision_config": "eager", "text_config": "eager"}, ("eager", "eager", "eager")),
    ],
)
def test_from_pretrained_spreads_a_name_and_a_dict_targets_parts(saved, requested, expected):
    path, batch, reference = saved
    model = AutoModelForImageTextToText.from_pretrained(path, attn_implementation=requested).eval()
    assert backends(model) == expected
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, reference, rtol=1e-5, atol=1e-5)


def test_triton_backend_runs_our_modules_only(saved, monkeypatch):
    """On CPU this runs Triton's interpreter (conftest sets TRITON_INTERPRET=1)."""
    path, batch, reference = saved
    triton_kernel = HopDiffusedAttentionInterface().get_interface("triton")
    calls = []
    # the layer's own table: a local override, as a model file would make one
    monkeypatch.setitem(
        structure.HOP_DIFFUSED_ATTENTION_FUNCTIONS._local_mapping,
        "triton",
        lambda *args, **kw: calls.append(1) or triton_kernel(*args, **kw),
    )
    model = AutoModel.from_pretrained(path, attn_implementation="triton").eval()
    assert backends(model) == ("triton", "sdpa", "sdpa")
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, reference, rtol=1e-5, atol=1e-5)
    assert len(calls) == 2  # the text and the image subgraph went through the Triton kernel


def test_set_attn_implementation_switches_and_validates(saved):
    path, batch, reference = saved
    model = Graph4MMForConditionalGeneration.from_pretrained(path).eval()
    model.set_attn_implementation("sdpa")
    assert backends(model) == ("sdpa", "sdpa", "sdpa")
    model.set_attn_implementation({"": "eager", "text_config": "eager"})
    assert backends(model) == ("eager", "eager", "sdpa")
    assert model.config.qformer_config._attn_implementation == "sdpa"  # a dict changes only the parts it names
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, reference, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="unknown attention implementation 'flash'.*eager, sdpa, triton, flex_attention"):
        model.set_attn_implementation("flash")
    assert backends(model) == ("eager", "eager", "sdpa")


def test_unknown_or_unregistered_backends_are_clear_errors(saved, monkeypatch):
    path, _, _ = saved
    with pytest.raises(ValueError, match="unknown attention implementation 'fast'"):
        Graph4MMForConditionalGeneration.from_pretrained(path, attn_implementation="fast")
    monkeypatch.delitem(HopDiffusedAttentionInterface._global_mapping, "sdpa")
    with pytest.raises(ValueError, match="'sdpa' backend of hop_diffused attention is not available"):
        Graph4MMForConditionalGeneration.from_pretrained(path, attn_implementation="sdpa")
    # hop-aware has no diffusion kernel, so it does not need that backend
    model = Graph4MMForConditionalGeneration(tiny_config(structure="hop_aware", attn_implementation="sdpa"))
    assert model.config._attn_implementation == "sdpa"
