"""GsiT and MulT follow the conventions transformers' common model tests check for a feature-input classifier.

One test per convention: the main input's name, ``output_attentions`` / ``output_hidden_states`` (named per
pass), the attention capability flags and switching, and one host sync per forward. Not applicable to a
feature-input classifier (as transformers' own audio/vision classifiers skip them): resizing token
embeddings, ``generate()``, a KV cache, ``inputs_embeds``.
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from torch.overrides import TorchFunctionMode

from hf_graph4mm import GsiTForSequenceClassification, GsiTModel
from hf_graph4mm.kernels import NAMED_PATTERNS, interlaced_block_mask
from hf_graph4mm.modeling.gsit import interlaced
from hf_graph4mm.testing import gsit_batch, tiny_gsit_config

MODALITIES = ("text", "vision", "audio")  # the concatenation order


def build(fusion="interlaced", **overrides):
    torch.manual_seed(0)
    return GsiTForSequenceClassification(tiny_gsit_config(fusion=fusion, **overrides)).eval()


def test_main_input_name_is_the_first_forward_argument():
    for model_class in (GsiTModel, GsiTForSequenceClassification):
        parameters = list(inspect.signature(model_class.forward).parameters)
        assert model_class.main_input_name == "text_features" == parameters[1]


def test_interlaced_attentions_are_named_per_pass_and_follow_the_pattern():
    model = build()
    batch = gsit_batch()
    with torch.no_grad():
        plain = model(**batch)
        output = model(**batch, output_attentions=True)
    torch.testing.assert_close(output.logits, plain.logits)  # asking for outputs changes nothing
    assert set(output.attentions) == {"forward", "backward", "self"}
    lengths = GsiTModel(model.config).eval()
    lengths.load_state_dict(model.model.state_dict())
    with torch.no_grad():
        real = lengths(**batch).sequence_lengths  # [batch, 3] after the conv, text/vision/audio
    segment_lengths = [batch[f"{m}_features"].shape[1] - model.config.kernel_sizes[m] + 1 for m in MODALITIES]
    total = sum(segment_lengths)
    key_real = torch.cat(
        [torch.arange(t)[None, :] < real[:, s, None] for s, t in enumerate(segment_lengths)], dim=1
    )  # [batch, T]
    for name, probabilities in output.attentions.items():
        assert len(probabilities) == model.config.num_layers
        allowed = interlaced_block_mask(segment_lengths, NAMED_PATTERNS[name])[None, None] & key_real[:, None, None, :]
        for layer in probabilities:
            assert layer.shape == (3, model.config.num_attention_heads, total, total)
            assert (layer[~allowed.expand_as(layer)] == 0).all(), name  # nothing outside the pattern or on padding
            torch.testing.assert_close(layer.sum(-1), torch.ones(layer.shape[:-1]))  # every row: a distribution


def first_call_into(captured: dict):
    """A forward hook keeping the arguments and output of the module's first call."""

    def hook(module, args, output):
        if "args" not in captured:
            captured.update(args=args, output=output)

    return hook


def test_returned_attention_is_what_the_layer_attends_with():
    """Independent check: the first forward-pass layer's output equals its returned probabilities times v,
    projected, with the weights applied by hand (float64)."""
    model = build().double()
    batch = {k: v.double() if v.is_floating_point() else v for k, v in gsit_batch().items()}
    layer = model.model.fusion.forward_pass.layers[0]
    captured = {}
    layer.attention.register_forward_hook(first_call_into(captured))
    with torch.no_grad():
        probabilities = model(**batch, output_attentions=True).attentions["forward"][0]
    (rows, layout, *_), (attended, _) = captured["args"], captured["output"]  # the forward pass, depth 1
    attention = layer.attention
    value = rows @ attention.v_proj.weight.T + attention.v_proj.bias  # [N, width], the real steps
    real = layout.key_padding_mask  # [batch, T]
    padded_value = torch.zeros(*real.shape, value.shape[-1], dtype=value.dtype)
    padded_value[real] = value
    heads, head_dim = attention.num_heads, attention.head_dim
    split = padded_value.view(*real.shape, heads, head_dim).transpose(1, 2)
    merged = (probabilities @ split).transpose(1, 2).reshape(*real.shape, -1)
    expected = merged[real] @ attention.o_proj.weight.T + attention.o_proj.bias
    torch.testing.assert_close(attended, expected, rtol=1e-10, atol=1e-10)


def test_hidden_states_are_each_depths_input_and_the_last_output():
    model = build()
    batch = gsit_batch()
    with torch.no_grad():
        output = model.model(**batch, output_hidden_states=True)
    assert set(output.hidden_states) == {"forward", "backward", "self"}
    width = {"forward": 16, "backward": 16, "self": 32}
    for name, states in output.hidden_states.items():
        assert len(states) == model.config.num_layers + 1
        assert all(state.shape[-1] == width[name] for state in states)
    # the self pass's last state, after the final LayerNorm, is the fused sequence (on real steps)
    final = model.model.fusion.self_pass.final_norm(output.hidden_states["self"][-1])
    fused = torch.cat([output.text_hidden_state, output.vision_hidden_state, output.audio_hidden_state], dim=1)
    real = fused.abs().sum(-1) != 0
    torch.testing.assert_close(final[real], fused[real])


def test_outputs_follow_the_config_flags_and_mult_names_its_transformers():
    model = build("mult", output_attentions=True, output_hidden_states=True)
    with torch.no_grad():
        output = model(**gsit_batch())
    pairs = {"text_from_vision", "text_from_audio", "vision_from_audio", "vision_from_text"}
    pairs |= {"audio_from_text", "audio_from_vision", "memory_text", "memory_vision", "memory_audio"}
    assert set(output.attentions) == set(output.hidden_states) == pairs
    assert output.attentions["text_from_vision"][0].shape[-2:] == (9 - 3 + 1, 8 - 1 + 1)  # text queries, vision keys
    with torch.no_grad():
        silent = model(**gsit_batch(), output_attentions=False, output_hidden_states=False)
    assert silent.attentions is None and silent.hidden_states is None


@pytest.mark.parametrize("model_class", [GsiTModel, GsiTForSequenceClassification])
def test_capability_flags_are_declared(model_class):
    assert model_class._supports_sdpa and model_class._supports_flex_attn
    assert not getattr(model_class, "_supports_flash_attn", False)
    assert {"InterlacedLayer", "CrossModalLayer"} <= set(model_class._no_split_modules)


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
def test_from_pretrained_dispatches_the_named_backend_and_it_runs(tmp_path, implementation, monkeypatch):
    build().save_pretrained(tmp_path)
    calls = []
    table = interlaced.INTERLACED_ATTENTION_FUNCTIONS
    original = table.get_interface(implementation)
    monkeypatch.setitem(table._local_mapping, implementation, lambda *a, **k: calls.append(1) or original(*a, **k))
    model = GsiTForSequenceClassification.from_pretrained(tmp_path, attn_implementation=implementation).eval()
    assert model.config._attn_implementation == implementation
    with torch.no_grad():
        model(**gsit_batch())
    assert len(calls) == 3 * model.config.num_layers  # every pass, every depth ran the named backend


def test_a_plain_name_reaches_the_text_encoder_and_a_dict_targets_it():
    from transformers import BertConfig

    text_encoder = BertConfig(
        vocab_size=50, hidden_size=12, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16
    )
    model = GsiTForSequenceClassification(tiny_gsit_config(text_encoder_config=text_encoder.to_dict()))
    encoder = model.model.text_encoder
    model.set_attn_implementation("eager")
    assert (model.config._attn_implementation, encoder.config._attn_implementation) == ("eager", "eager")
    model.set_attn_implementation("sdpa")
    assert encoder.config._attn_implementation == "sdpa"
    model.set_attn_implementation({"": "eager", "text_encoder_config": "sdpa"})
    assert (model.config._attn_implementation, encoder.config._attn_implementation) == ("eager", "sdpa")
    fusion = model.model.fusion.forward_pass.layers[0].attention
    assert fusion.attention_function.__name__ == "interlaced_attention_eager"  # resolved when set


class HostReads(TorchFunctionMode):
    """Counts the calls that read a tensor's value on the host (a device sync on a GPU)."""

    READS = {"item", "tolist", "__bool__", "__int__", "__float__", "nonzero", "equal"}

    def __init__(self):
        super().__init__()
        self.reads = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in self.READS:
            self.reads.append(name)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("fusion", ["interlaced", "mult"])
def test_one_host_read_per_forward_with_the_default_backend(fusion):
    """The layout of the whole forward is planned from one read of the lengths; no layer reads again."""
    model = build(fusion, num_layers=3)
    assert model.config._attn_implementation == "sdpa"
    with HostReads() as counter, torch.no_grad():
        model(**gsit_batch())
    assert counter.reads == ["tolist"]
    model.train()
    with HostReads() as counter:
        model(**gsit_batch(), labels=torch.zeros(3)).loss.backward()
    assert counter.reads == ["tolist"]


def test_scaling_is_one_over_root_head_dim():
    """The attention probabilities use 1/sqrt(head_dim) once (the published code scales twice)."""
    model = build(num_layers=1)
    captured = {}
    layer = model.model.fusion.self_pass.layers[0]
    layer.attention.register_forward_hook(first_call_into(captured))
    batch = gsit_batch(batch=1, times=(5, 6, 4))
    for m in ("text", "audio", "vision"):
        batch.pop(f"{m}_lengths")  # every step real: rows are the whole padded sequence
    with torch.no_grad():
        probabilities = model(**batch, output_attentions=True).attentions["self"][0]
    rows, attention = captured["args"][0], layer.attention
    query = (rows @ attention.q_proj.weight.T + attention.q_proj.bias)[:, : attention.head_dim]
    key = (rows @ attention.k_proj.weight.T + attention.k_proj.bias)[:, : attention.head_dim]
    text = 5 - model.config.text_kernel_size + 1
    scores = query[:text] @ key[:text].T / math.sqrt(attention.head_dim)
    torch.testing.assert_close(probabilities[0, 0, :text, :text], scores.softmax(-1))


def test_num_hidden_layers_reads_and_writes_num_layers():
    config = tiny_gsit_config(num_layers=3)
    assert config.num_hidden_layers == 3
    config.num_hidden_layers = 2
    assert config.num_layers == 2 and "num_hidden_layers" not in config.to_dict()


def test_the_heads_are_named_as_classification_heads():
    """transformers' tooling finds a classifier's head by its class name (``...ClassificationHead``)."""
    for fusion in ("interlaced", "mult"):
        assert type(build(fusion).head).__name__.endswith("ClassificationHead")
