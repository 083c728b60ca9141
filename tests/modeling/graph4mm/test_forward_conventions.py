"""Graph4MM's forward follows the conventions of transformers' vision-language models.

``shift_labels`` (sequence / context parallelism), ``return_dict`` passed through, the LM's outputs
(cache, hidden states, attentions, ``logits_to_keep``), vision outputs on the output object, backbones
that train once unfrozen, and every config attribute read by the model.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hf_graph4mm import Graph4MMForConditionalGeneration
from hf_graph4mm.testing import graph4mm_batch, tiny_graph4mm_config


def build(**overrides):
    torch.manual_seed(0)
    return Graph4MMForConditionalGeneration(tiny_graph4mm_config(**overrides)).eval()


def manual_loss(logits, targets):
    """Mean cross-entropy of ``logits [B, L, V]`` against position-aligned ``targets [B, L]`` (-100 ignored)."""
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=-100
    )


def test_shift_labels_are_the_targets_as_given():
    model = build()
    batch = graph4mm_batch(model.config)
    labels = batch.pop("labels")
    with torch.no_grad():
        from_labels = model(**batch, labels=labels)
        aligned = F.pad(labels[:, 1:], (0, 1), value=-100).masked_fill(
            F.pad(batch["attention_mask"][:, 1:], (0, 1)) == 0, -100
        )
        from_shifted = model(**batch, shift_labels=aligned)
        torch.testing.assert_close(from_shifted.loss, from_labels.loss)
        # a shard's targets (as context parallelism hands out): only the given positions count, unshifted
        shard = torch.full_like(aligned, -100)
        shard[:, :12] = aligned[:, :12]  # this shard's positions: some answer targets, not all
        assert (shard != -100).any() and (shard != aligned).any()
        torch.testing.assert_close(
            model(**batch, shift_labels=shard).loss, manual_loss(from_labels.logits, shard)
        )


def test_return_dict_false_gives_a_tuple_led_by_the_loss():
    model = build()
    batch = graph4mm_batch(model.config)
    with torch.no_grad():
        as_dict = model(**batch)
        as_tuple = model(**batch, return_dict=False)
    assert isinstance(as_tuple, tuple)
    torch.testing.assert_close(as_tuple[0], as_dict.loss)
    torch.testing.assert_close(as_tuple[1], as_dict.logits)


def test_lm_outputs_pass_through():
    model = build()
    model.set_attn_implementation({"text_config": "eager"})  # attention weights need the LM's eager path
    batch = graph4mm_batch(model.config, with_labels=False)
    layers = model.config.text_config.num_hidden_layers
    with torch.no_grad():
        full = model(**batch, output_attentions=True, output_hidden_states=True, use_cache=True)
        last = model(**batch, logits_to_keep=1)
    assert len(full.hidden_states) == layers + 1 and len(full.attentions) == layers
    length = batch["input_ids"].shape[1]
    assert full.attentions[0].shape[-2:] == (length, length)
    assert full.cache.get_seq_length() == length and full.past_key_values is full.cache
    torch.testing.assert_close(last.logits, full.logits[:, -1:])


def test_vision_outputs_are_returned_and_feed_back_as_image_embeds():
    model = build()
    batch = graph4mm_batch(model.config)
    with torch.no_grad():
        output = model(**batch)
    pixels, mask = batch["pixel_values"], batch["image_node_mask"]
    assert output.image_embeds.shape == (*mask.shape, model.config.vision_config.hidden_size)
    for row, slot in mask.nonzero().tolist():
        with torch.no_grad():
            pooled = model.vision_model(pixel_values=pixels[row, slot][None]).pooler_output[0]
        torch.testing.assert_close(output.image_embeds[row, slot], pooled, rtol=1e-5, atol=1e-6)
    assert (output.image_embeds[~mask] == 0).all()
    cached = dict(batch, image_embeds=output.image_embeds)
    del cached["pixel_values"]
    with torch.no_grad():
        torch.testing.assert_close(model(**cached).logits, output.logits)


def test_an_unfrozen_backbone_trains_even_after_train_was_called():
    model = build(text_config=dict(tiny_graph4mm_config().text_config.to_dict(), dropout=0.5))
    model.train()
    assert not model.language_model.training  # frozen: no dropout
    model.language_model.requires_grad_(True)  # the user unfreezes it after train()
    batch = graph4mm_batch(model.config)
    output = model(**batch)
    assert model.language_model.training
    again = model(**batch)
    assert not torch.equal(output.logits, again.logits)  # its dropout runs
    output.loss.backward()
    assert model.get_input_embeddings().weight.grad is not None
    model.eval()
    assert not model.language_model.training


def test_the_neighbour_budget_in_the_config_bounds_the_node_slots():
    model = build(max_text_nodes=2)
    batch = graph4mm_batch(model.config, num_text_nodes=(3, 2))
    with pytest.raises(ValueError, match="3 text node slots; config.max_text_nodes is 2"):
        model(**batch)
    model = build(max_image_nodes=3)
    batch = graph4mm_batch(model.config)
    batch = dict(batch, **{key: F.pad(batch[key], pad) for key, pad in (
        ("pixel_values", (0, 0, 0, 0, 0, 0, 0, 2)), ("image_node_mask", (0, 2)),
        ("image_adjacency", (0, 2, 0, 2)), ("image_hops", (0, 2)),
    )})  # fmt: skip
    with pytest.raises(ValueError, match="4 image node slots; config.max_image_nodes is 3"):
        model(**batch)


def test_every_config_attribute_is_read_by_the_model_code():
    """Each field of Graph4MMConfig is named in the model's modules (or is transformers' own)."""
    import hf_graph4mm.modeling.graph4mm as package
    from hf_graph4mm import Graph4MMConfig

    sources = "".join(
        path.read_text()
        for path in __import__("pathlib").Path(package.__file__).parent.glob("*.py")
        if path.name != "configuration_graph4mm.py"
    )
    own = set(Graph4MMConfig.__dataclass_fields__) - set(Graph4MMConfig.__mro__[1].__dataclass_fields__)
    unread = sorted(
        name for name in own if f"config.{name}" not in sources and f"config, config.{name}" not in sources
    )
    assert unread == [], unread


def test_without_graph_inputs_the_prompt_is_the_lms_alone():
    """As LLaVA without pixel_values: a text-only forward is the language model's own."""
    model = build()
    batch = graph4mm_batch(model.config, with_labels=False)
    text = {"input_ids": batch["input_ids"].clamp(max=200), "attention_mask": batch["attention_mask"]}
    with torch.no_grad():
        ours = model(**text).logits
        positions = (text["attention_mask"].cumsum(-1) - 1).clamp(min=0)
        alone = model.language_model(**text, position_ids=positions).logits
    torch.testing.assert_close(ours, alone)


def test_the_vision_towers_output_is_on_the_output_object():
    model = build()
    batch = graph4mm_batch(model.config)
    with torch.no_grad():
        output = model(**batch)
    real = batch["image_node_mask"]
    assert output.image_outputs.pooler_output.shape == (int(real.sum()), model.config.vision_config.hidden_size)
    torch.testing.assert_close(output.image_outputs.pooler_output, output.image_embeds[real])
    cached = dict(batch, image_embeds=output.image_embeds)
    del cached["pixel_values"]
    with torch.no_grad():
        assert model(**cached).image_outputs is None  # the encoder did not run
