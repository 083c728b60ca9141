"""GsiT/MulT architecture: published parameter counts, and the interlaced == cross-modal theorem."""

import math

import pytest
import torch

from hf_graph4mm import GsiTConfig, GsiTForSequenceClassification, GsiTModel
from hf_graph4mm.kernels import InterlacedLayout, resolve_pattern
from hf_graph4mm.modeling.gsit.inputs import MODALITIES
from hf_graph4mm.modeling.gsit.interlaced import InterlacedAttention, InterlacedLayer
from hf_graph4mm.modeling.gsit.mult import (
    BACKWARD_SOURCE,
    FORWARD_SOURCE,
    CrossModalAttention,
    CrossModalLayer,
)
from hf_graph4mm.testing import tiny_gsit_config

MOSI = {"text_dim": 768, "audio_dim": 5, "vision_dim": 20}
MOSEI = {"text_dim": 768, "audio_dim": 74, "vision_dim": 35}


def count(model) -> int:
    return sum(p.numel() for p in model.parameters())


pytestmark = pytest.mark.usefixtures("single_thread")  # tests/conftest.py


# --- parameter counts: the numbers, and a hand derivation of the same architecture ---


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({**MOSI}, 1_793_409),
        ({**MOSI, "tie_layers": False}, 5_352_321),
        ({**MOSI, "fusion": "mult"}, 5_251_457),
        ({**MOSEI}, 1_847_169),
        (
            {
                **MOSEI,
                "fusion": "mult",
                "text_kernel_size": 5,
                "audio_kernel_size": 1,
                "vision_kernel_size": 3,
            },
            5_258_369,
        ),
    ],
)
def test_published_parameter_counts(overrides, expected):
    assert count(GsiTForSequenceClassification(GsiTConfig(**overrides))) == expected


def test_gsit_without_head_is_the_papers_1_695m():
    assert count(GsiTModel(GsiTConfig(**MOSI))) == 1_694_848


def _layer_params(width: int) -> int:
    """Pre-LN layer by hand: 2 LayerNorms, Q/K/V/O with bias, FFN width -> 4 width -> width."""
    return (
        2 * (2 * width)
        + 4 * (width * width + width)
        + (width * 4 * width + 4 * width)
        + (4 * width * width + width)
    )


def _encoder_params(width: int, weight_sets: int) -> int:
    return weight_sets * _layer_params(width) + 2 * width  # + final LayerNorm


@pytest.mark.parametrize("fusion", ["interlaced", "mult"])
@pytest.mark.parametrize("tie_layers", [True, False])
def test_counts_match_a_hand_derivation_at_other_sizes(fusion, tie_layers):
    d, layers, dims, kernels = 24, 3, (40, 7, 9), (3, 2, 4)
    config = GsiTConfig(
        text_dim=dims[0],
        audio_dim=dims[1],
        vision_dim=dims[2],
        text_kernel_size=kernels[0],
        audio_kernel_size=kernels[1],
        vision_kernel_size=kernels[2],
        hidden_size=d,
        num_attention_heads=4,
        num_layers=layers,
        tie_layers=tie_layers,
        fusion=fusion,
    )
    sets = 1 if tie_layers else layers
    convs = sum(dim * d * k for dim, k in zip(dims, kernels))
    if fusion == "interlaced":
        fusion_params = 2 * _encoder_params(d, sets) + _encoder_params(2 * d, sets)
        head = (6 * d * d + d) + (d + 1)
    else:
        fusion_params = 6 * _encoder_params(d, sets) + 3 * _encoder_params(2 * d, sets)
        head = 2 * (6 * d * 6 * d + 6 * d) + (6 * d + 1)
    assert count(GsiTForSequenceClassification(config)) == convs + fusion_params + head


# --- the theorem: one interlaced attention == three cross-modal attentions with the same weights ---


def tiny_config(**overrides) -> GsiTConfig:
    """One layer, no dropout, eager, the default conv kernels: the case where the equivalences are exact."""
    values = dict(
        num_layers=1,
        text_kernel_size=5,
        audio_kernel_size=5,
        vision_kernel_size=5,
        embedding_dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        residual_dropout=0.0,
        attn_implementation="eager",
    )
    values.update(overrides)
    return tiny_gsit_config(**values)


def _segments(batch=3, lengths=(5, 4, 6), width=16, seed=0):
    generator = torch.Generator().manual_seed(seed)
    segments = [torch.randn(batch, t, width, generator=generator) for t in lengths]
    real_lengths = [torch.randint(1, t + 1, (batch,), generator=generator) for t in lengths]
    masks = [torch.arange(t)[None, :] < n[:, None] for t, n in zip(lengths, real_lengths)]
    return segments, masks


def _reference_cross_attention(attention: CrossModalAttention, queries, keys, key_mask):
    """float64 attention written out by hand: softmax(q k^T / sqrt(head_dim)) v over real keys."""
    w = {name: getattr(attention, name) for name in ("q_proj", "k_proj", "v_proj", "o_proj")}
    heads, head_dim = attention.num_heads, attention.head_dim

    def split(x):
        return x.view(x.shape[0], x.shape[1], heads, head_dim).transpose(1, 2)

    def linear(layer, x):
        return x @ layer.weight.double().T + layer.bias.double()

    q, k, v = (
        split(linear(w[n], x.double())) for n, x in (("q_proj", queries), ("k_proj", keys), ("v_proj", keys))
    )
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(head_dim)
    scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(queries.shape[0], queries.shape[1], -1)
    return linear(w["o_proj"], out)


def run_interlaced(module, segments, masks, pattern):
    """An interlaced module on the real steps (rows) of the concatenated segments; per-segment padded outputs."""
    lengths = [segment.shape[1] for segment in segments]
    real = torch.stack([mask.sum(dim=1) for mask in masks])
    layout = InterlacedLayout.from_lengths(lengths, real, real.tolist())
    rows = layout.pack(torch.cat(segments, dim=1))
    output, _ = module(rows, layout, resolve_pattern(pattern, len(lengths)))
    return layout.unpack(output).split(lengths, dim=1)


def cross_modal_twin(interlaced_module, cross_modal_class, config, width):
    """The MulT module with the interlaced module's weights: the theorem compares the two."""
    twin = cross_modal_class(config, width).eval()
    twin.load_state_dict(interlaced_module.state_dict())
    return twin


@pytest.mark.parametrize("implementation", ["eager", "sdpa", "triton", "flex_attention"])
@pytest.mark.parametrize("pattern", ["forward", "backward", "self"])
def test_interlaced_attention_equals_separate_cross_modal_attentions(pattern, implementation):
    config = tiny_config()
    config._attn_implementation = implementation
    attention = InterlacedAttention(config, 16).eval()
    cross_modal = cross_modal_twin(attention, CrossModalAttention, config, 16)
    segments, masks = _segments()
    with torch.no_grad():
        interlaced = run_interlaced(attention, segments, masks, pattern)
        sources = {"forward": (1, 2, 0), "backward": (2, 0, 1), "self": (0, 1, 2)}[pattern]
        for target, source in enumerate(sources):
            separate, _ = cross_modal(segments[target], segments[source], key_padding_mask=masks[source])
            reference = _reference_cross_attention(
                cross_modal, segments[target], segments[source], masks[source]
            )
            real = masks[target]  # packed: only real query steps are computed (padding comes out zero)
            torch.testing.assert_close(interlaced[target][real].double(), reference[real], atol=1e-5, rtol=1e-5)
            assert (interlaced[target][~real] == 0).all()
            torch.testing.assert_close(separate.double(), reference, atol=1e-5, rtol=1e-5)


def test_interlaced_layer_equals_per_pair_layers():
    layer = InterlacedLayer(tiny_config(), 16).eval()
    cross_modal = cross_modal_twin(layer, CrossModalLayer, tiny_config(), 16)
    segments, masks = _segments(seed=1)
    with torch.no_grad():
        interlaced = run_interlaced(layer, segments, masks, "forward")
        for target, source in enumerate((1, 2, 0)):
            separate, _ = cross_modal(segments[target], segments[source], key_padding_mask=masks[source])
            real = masks[target]
            torch.testing.assert_close(interlaced[target][real], separate[real], atol=1e-5, rtol=1e-5)


def test_one_layer_gsit_equals_mult_with_shared_weights():
    """With one layer, GsiT is MulT whose six cross-modal (and three memory) transformers share weights."""
    gsit = GsiTModel(tiny_config(fusion="interlaced")).eval()
    mult = GsiTModel(tiny_config(fusion="mult")).eval()
    mult.projections.load_state_dict(gsit.projections.state_dict())
    for target in MODALITIES:
        mult.fusion.cross_modal[f"{target}_from_{FORWARD_SOURCE[target]}"].load_state_dict(
            gsit.fusion.forward_pass.state_dict()
        )
        mult.fusion.cross_modal[f"{target}_from_{BACKWARD_SOURCE[target]}"].load_state_dict(
            gsit.fusion.backward_pass.state_dict()
        )
        mult.fusion.memory[target].load_state_dict(gsit.fusion.self_pass.state_dict())
    generator = torch.Generator().manual_seed(2)
    inputs = {
        "text_features": torch.randn(3, 9, 12, generator=generator),
        "audio_features": torch.randn(3, 11, 5, generator=generator),
        "vision_features": torch.randn(3, 8, 7, generator=generator),
        "text_lengths": torch.tensor([9, 6, 3]),
        "audio_lengths": torch.tensor([11, 5, 8]),
        "vision_lengths": torch.tensor([8, 8, 2]),
    }
    with torch.no_grad():
        expected, actual = mult(**inputs), gsit(**inputs)
    torch.testing.assert_close(
        actual.fused_representation, expected.fused_representation, atol=1e-5, rtol=1e-5
    )
    assert torch.equal(actual.sequence_lengths, expected.sequence_lengths)


@pytest.mark.parametrize("fusion", ["interlaced", "mult"])
def test_tied_layers_reuse_one_weight_set_at_every_depth(fusion):
    tied = GsiTModel(tiny_config(fusion=fusion, num_layers=3, tie_layers=True)).eval()
    untied = GsiTModel(tiny_config(fusion=fusion, num_layers=3, tie_layers=False)).eval()
    state = {}
    for name, tensor in tied.state_dict().items():
        if ".layers.0." in name:  # the one tied weight set goes to every depth of the untied model
            for depth in range(3):
                state[name.replace(".layers.0.", f".layers.{depth}.")] = tensor
        else:
            state[name] = tensor
    untied.load_state_dict(state)
    generator = torch.Generator().manual_seed(5)
    inputs = {
        "text_features": torch.randn(2, 9, 12, generator=generator),
        "audio_features": torch.randn(2, 10, 5, generator=generator),
        "vision_features": torch.randn(2, 7, 7, generator=generator),
    }
    with torch.no_grad():
        torch.testing.assert_close(
            tied(**inputs).fused_representation, untied(**inputs).fused_representation, atol=1e-5, rtol=1e-5
        )
