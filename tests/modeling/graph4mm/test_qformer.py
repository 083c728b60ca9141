"""MM-QFormer: key-masked attention against a float64 formula, masking of padded nodes, empty subgraphs."""

from __future__ import annotations

import math

import pytest
import torch

from hf_graph4mm.kernels import KeyMaskedAttentionInterface
from hf_graph4mm.modeling.graph4mm.qformer import MMQFormer
from hf_graph4mm.testing import tiny_graph4mm_config as tiny_config


def key_masked_attention(query, key, value, key_mask, implementation="eager"):
    return KeyMaskedAttentionInterface().get_interface(implementation)(query, key, value, key_mask)


def reference_key_masked_attention(query, key, value, key_mask):
    """float64 softmax over each sample's real keys, written out row by row; zeros when there is none."""
    output = torch.zeros(query.shape, dtype=torch.float64)
    for b in range(query.shape[0]):
        keys = key_mask[b].nonzero().flatten()
        if len(keys) == 0:
            continue
        scores = query[b].double() @ key[b, :, keys].double().transpose(-1, -2) / math.sqrt(query.shape[-1])
        output[b] = torch.softmax(scores, dim=-1) @ value[b, :, keys].double()
    return output


def test_triton_and_flex_run_the_sdpa_key_masked_attention():
    """The one stated mapping: the Q-Former's dense attention has no Triton or flex kernel of its own."""
    interface = KeyMaskedAttentionInterface()
    sdpa = interface.get_interface("sdpa")
    assert sdpa.__name__ == "key_masked_attention_sdpa"
    assert interface.get_interface("flex_attention") is sdpa
    assert interface.runs_as("triton") == "sdpa" and interface.runs_as("eager") == "eager"


@pytest.mark.parametrize("implementation", ["eager", "sdpa", "flex_attention"])
def test_key_masked_attention_matches_formula_and_zeroes_samples_without_keys(implementation):
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(3, 2, 4, 8, generator=generator)
    key, value = (torch.randn(3, 2, 5, 8, generator=generator) for _ in "kv")
    key_mask = torch.tensor([[1, 1, 0, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    output = key_masked_attention(query, key, value, key_mask, implementation)
    torch.testing.assert_close(
        output.double(), reference_key_masked_attention(query, key, value, key_mask), rtol=1e-5, atol=1e-6
    )
    assert (output[1] == 0).all()


def test_key_masked_attention_with_no_key_slots_at_all():
    query = torch.randn(2, 2, 3, 4)
    empty = torch.zeros(2, 2, 0, 4)
    output = key_masked_attention(query, empty, empty, torch.zeros(2, 0, dtype=torch.bool))
    assert output.shape == query.shape and (output == 0).all()


@pytest.fixture()
def qformer():
    torch.manual_seed(0)
    config = tiny_config().qformer_config
    return MMQFormer(config, num_queries=6).eval(), config.hidden_size


def test_padded_text_and_image_nodes_do_not_change_the_queries(qformer):
    module, width = qformer
    text, image = torch.randn(2, 4, width), torch.randn(2, 3, width)
    text_mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0]], dtype=torch.bool)
    image_mask = torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=torch.bool)
    reference = module(text, text_mask, image, image_mask)
    assert reference.shape == (2, 6, width)
    text2, image2 = text.clone(), image.clone()
    text2[~text_mask] = 100.0
    image2[~image_mask] = -100.0
    torch.testing.assert_close(module(text2, text_mask, image2, image_mask), reference)
    # and a real node does change them (the test would notice a module ignoring its inputs)
    image2[0, 0] += 1.0
    assert not torch.allclose(module(text2, text_mask, image2, image_mask)[0], reference[0])


def test_a_sample_without_images_gets_no_cross_attention_contribution(qformer):
    module, width = qformer
    text = torch.randn(1, 2, width)
    text_mask = torch.ones(1, 2, dtype=torch.bool)
    no_image_mask = torch.zeros(1, 3, dtype=torch.bool)
    with_garbage = module(text, text_mask, torch.randn(1, 3, width) * 1e3, no_image_mask)
    assert torch.isfinite(with_garbage).all()
    # zero cross-attention output == the cross-attention block reduced to its residual + LayerNorm
    layer = module.layers[0]
    sequence = torch.cat([module.query_tokens[None], text], dim=1)
    sequence = layer.self_norm(sequence + layer.self_attention(sequence, sequence, torch.ones(1, 8).bool()))
    queries = layer.cross_norm(sequence[:, :6])
    sequence = torch.cat([queries, sequence[:, 6:]], dim=1)
    expected = layer.ffn_norm(sequence + layer.ffn_out(layer.activation(layer.ffn_in(sequence))))[:, :6]
    torch.testing.assert_close(with_garbage, expected)
