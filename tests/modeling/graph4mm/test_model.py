"""Graph4MMForConditionalGeneration: loss, node embeddings, placeholders, freezing, variants, save/load."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText

from hf_graph4mm import Graph4MMConfig, Graph4MMForConditionalGeneration
from hf_graph4mm.graph_batch import GraphInputs
from hf_graph4mm.modeling.graph4mm.node_embeddings import gather_nodes, real_node_rows, scatter_nodes
from hf_graph4mm.modeling.graph4mm.node_embeddings import text_node_vectors as real_text_node_vectors
from hf_graph4mm.modeling.graph4mm.structure import HopAwareEmbedding, HopDiffusedAttention, NoStructure
from hf_graph4mm.testing import IMAGE_TOKEN_ID
from hf_graph4mm.testing import graph4mm_batch as make_batch
from hf_graph4mm.testing import tiny_graph4mm_config as tiny_config


def text_node_vectors(encoder, input_ids, attention_mask, node_mask):
    """``[batch, nodes, hidden]`` as the model builds them: the real slots encoded, scattered back."""
    rows = real_node_rows(node_mask)
    vectors = real_text_node_vectors(
        encoder, gather_nodes(input_ids, rows), gather_nodes(attention_mask, rows)
    )
    return scatter_nodes(vectors, rows, node_mask)


VARIANTS = {
    "hop_diffused": {},
    "hop_aware": {"structure": "hop_aware"},
    "none": {"structure": "none"},
    "mmgl_concat": {"fusion": "concat"},
    "no_text_structure": {"text_structure": False},
    "no_image_structure": {"image_structure": False},
}


def build(backbone="opt", seed=0, **overrides):
    torch.manual_seed(seed)
    return Graph4MMForConditionalGeneration(tiny_config(backbone, **overrides)).eval()


def manual_answer_loss(logits, labels, attention_mask):
    """Position-by-position: -log p(label_t | prefix) averaged over real answer tokens."""
    total, count = 0.0, 0
    for row in range(labels.shape[0]):
        for position in range(1, labels.shape[1]):
            if labels[row, position] != -100 and attention_mask[row, position] == 1:
                log_probs = torch.log_softmax(logits[row, position - 1].double(), dim=-1)
                total -= log_probs[labels[row, position]].item()
                count += 1
    return total / count


def test_config_registers_with_auto_config_and_validates(tmp_path):
    config = tiny_config(structure="hop_aware", diffusion_steps=3)
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, Graph4MMConfig)
    assert loaded.to_diff_dict() == config.to_diff_dict()
    assert loaded.num_query_tokens == 2 * 3
    assert Graph4MMConfig().num_query_tokens == 20  # the paper's 4 tokens x 5 image nodes
    for bad, word in [({"structure": "gat"}, "structure"), ({"fusion": "sum"}, "fusion")]:
        with pytest.raises(ValueError, match=word):
            tiny_config(**bad)
    with pytest.raises(ValueError, match="diffusion_alpha"):
        tiny_config(diffusion_alpha=1.5)


@pytest.mark.parametrize("backbone", ["opt", "llama"])
def test_loss_is_the_mean_over_answer_tokens_and_ignores_padding(backbone):
    model = build(backbone)
    batch = make_batch(model.config)
    output = model(**batch)
    expected = manual_answer_loss(output.logits, batch["labels"], batch["attention_mask"])
    assert output.loss.item() == pytest.approx(expected, rel=1e-5)

    # three more padded positions whose labels are (wrongly) real tokens: padding must never count
    padded = dict(batch)
    extra = 3
    padded["input_ids"] = F.pad(batch["input_ids"], (0, extra), value=0)
    padded["attention_mask"] = F.pad(batch["attention_mask"], (0, extra), value=0)
    padded["labels"] = F.pad(batch["labels"], (0, extra), value=7)
    padded_output = model(**padded)
    assert padded_output.loss.item() == pytest.approx(output.loss.item(), rel=1e-5)

    # Trainer's num_items_in_batch replaces the local count of answer tokens
    answer_tokens = int((batch["labels"][:, 1:] != -100).sum())
    scaled = model(**batch, num_items_in_batch=torch.tensor(4 * answer_tokens))
    assert scaled.loss.item() == pytest.approx(output.loss.item() / 4, rel=1e-5)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_frozen_backbones_get_no_gradient_and_new_parts_do(variant):
    model = build(**VARIANTS[variant]).train()
    assert not model.language_model.training and not model.vision_model.training  # frozen: no dropout
    model(**make_batch(model.config)).loss.backward()
    for name, parameter in model.named_parameters():
        frozen = name.startswith(("vision_model.", "language_model."))
        assert parameter.requires_grad is not frozen, name
        if frozen:
            assert parameter.grad is None, name
        else:
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_variants_build_the_modules_they_name():
    kinds = {}
    for variant, overrides in VARIANTS.items():
        model = build(**overrides)
        kinds[variant] = tuple(
            type(getattr(model, name, None)).__name__
            for name in ("text_structure", "image_structure", "qformer")
        )
    assert kinds["hop_diffused"] == ("HopDiffusedAttention", "HopDiffusedAttention", "MMQFormer")
    assert kinds["hop_aware"] == ("HopAwareEmbedding", "HopAwareEmbedding", "MMQFormer")
    assert kinds["none"] == ("NoStructure", "NoStructure", "MMQFormer")
    assert kinds["no_text_structure"] == ("NoStructure", "HopDiffusedAttention", "MMQFormer")
    assert kinds["no_image_structure"] == ("HopDiffusedAttention", "NoStructure", "MMQFormer")
    assert kinds["mmgl_concat"] == ("NoneType", "NoneType", "NoneType")
    assert {HopDiffusedAttention, HopAwareEmbedding, NoStructure}  # imported for the names above


@pytest.mark.parametrize("backbone", ["opt", "llama"])
def test_text_nodes_are_masked_means_of_the_lms_own_hidden_states(backbone):
    model = build(backbone)
    batch = make_batch(model.config)
    encoder = model.language_model.base_model
    vectors = text_node_vectors(
        encoder, batch["text_input_ids"], batch["text_attention_mask"], batch["text_node_mask"]
    )
    for row in range(2):
        for node in range(batch["text_node_mask"].shape[1]):
            if not batch["text_node_mask"][row, node]:
                assert (vectors[row, node] == 0).all()
                continue
            tokens = batch["text_input_ids"][row, node][batch["text_attention_mask"][row, node].bool()]
            hidden = encoder(input_ids=tokens[None]).last_hidden_state[0]  # unpadded: no mask needed
            torch.testing.assert_close(vectors[row, node], hidden.mean(dim=0), rtol=1e-5, atol=1e-6)
    # left-padded node texts embed identically (positions count real tokens only)
    ids, mask = batch["text_input_ids"], batch["text_attention_mask"]
    order = torch.argsort(mask, dim=-1, stable=True)
    left = text_node_vectors(encoder, ids.gather(-1, order), mask.gather(-1, order), batch["text_node_mask"])
    torch.testing.assert_close(left, vectors, rtol=1e-5, atol=1e-6)


def test_query_outputs_land_exactly_at_the_placeholders():
    model = build()
    batch = make_batch(model.config)
    graph = {
        key: value for key, value in batch.items() if key not in ("input_ids", "attention_mask", "labels")
    }
    embeds, queries, _ = model.build_inputs_embeds(batch["input_ids"], GraphInputs.from_flat(**graph))
    placeholders = batch["input_ids"] == IMAGE_TOKEN_ID
    torch.testing.assert_close(embeds[placeholders], queries.reshape(-1, queries.shape[-1]))
    token_embeds = model.get_input_embeddings()(batch["input_ids"].masked_fill(placeholders, 0))
    torch.testing.assert_close(embeds[~placeholders], token_embeds[~placeholders])
    assert queries.shape == (2, model.config.num_query_tokens, 32)


def test_wrong_placeholder_count_is_a_clear_error():
    model = build()
    batch = make_batch(model.config)
    batch.pop("labels")
    row = batch["input_ids"][1]
    row[(row == IMAGE_TOKEN_ID).nonzero()[0]] = 5
    with pytest.raises(ValueError, match=r"sample 1 .* 5 <image> placeholder tokens .* expected .* 6"):
        model(**batch)


def test_malformed_graph_inputs_name_the_field():
    model = build()
    batch = make_batch(model.config)
    bad = dict(batch, text_adjacency=batch["text_adjacency"].long())
    with pytest.raises(ValueError, match="text_adjacency"):
        model(**bad)
    bad = dict(batch, image_node_mask=batch["image_node_mask"][:, :1])
    with pytest.raises(ValueError, match="image_node_mask"):
        model(**bad)
    with pytest.raises(ValueError, match="text_adjacency is required"):
        model(**dict(batch, text_adjacency=None))
    with pytest.raises(ValueError, match="image_hops is required"):
        build(structure="hop_aware")(**dict(batch, image_hops=None))
    adjacency = batch["image_adjacency"].clone()
    adjacency[1, 0, 1] = True  # sample 1 has one image node: slot 1 is padding
    with pytest.raises(ValueError, match=r"image_adjacency of sample 1 .* \(0, 1\) .* padded"):
        model(**dict(batch, image_adjacency=adjacency))


@pytest.mark.parametrize("variant", ["hop_diffused", "hop_aware", "mmgl_concat"])
def test_samples_never_mix_and_padded_slots_do_not_matter(variant):
    model = build(**VARIANTS[variant])
    batch = make_batch(model.config)
    reference = model(**batch).logits

    changed = {key: value.clone() for key, value in batch.items()}
    changed["pixel_values"][1] = torch.randn_like(changed["pixel_values"][1])
    changed["text_input_ids"][1, :, 1:] = 9
    changed["text_adjacency"][1, :2, :2] = True
    changed["image_hops"][1] = 0
    logits = model(**changed).logits
    assert torch.equal(logits[0], reference[0])
    assert not torch.allclose(logits[1], reference[1])

    padded_only = {key: value.clone() for key, value in batch.items()}
    padded_only["pixel_values"][1, 1] = 5.0  # sample 1's second image slot is padding
    padded_only["text_input_ids"][1, 2] = 42  # so is its third text slot
    padded_only["text_hops"][1, 2] = 7
    torch.testing.assert_close(model(**padded_only).logits, reference, rtol=0, atol=1e-6)


def test_a_sample_without_images_or_text_nodes_gives_finite_outputs():
    model = build()
    batch = make_batch(model.config, num_image_nodes=(0, 1), num_text_nodes=(0, 2))
    output = model(**batch)
    assert torch.isfinite(output.logits).all() and torch.isfinite(output.loss)


def test_mmgl_concat_projects_each_image_node_to_its_own_token_slots():
    model = build(fusion="concat")
    batch = make_batch(model.config, num_image_nodes=(2, 1))
    graph = {
        key: value for key, value in batch.items() if key not in ("input_ids", "attention_mask", "labels")
    }
    _, queries, _ = model.build_inputs_embeds(batch["input_ids"], GraphInputs.from_flat(**graph))
    per_image = model.config.num_query_tokens_per_image
    for row, count in enumerate((2, 1)):
        for slot in range(model.config.max_image_nodes):
            tokens = queries[row, slot * per_image : (slot + 1) * per_image]
            if slot >= count:
                assert (tokens == 0).all()
                continue
            pooled = model.vision_model(pixel_values=batch["pixel_values"][row, slot][None]).pooler_output
            expected = model.image_projection(pooled).view(per_image, -1)
            torch.testing.assert_close(tokens, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backbone", ["opt", "llama"])
def test_save_pretrained_then_auto_classes_reproduce_logits_exactly(tmp_path, backbone):
    model = build(backbone, structure="hop_aware" if backbone == "llama" else "hop_diffused")
    batch = make_batch(model.config)
    expected = model(**batch).logits
    model.save_pretrained(tmp_path)
    for auto_class in (AutoModelForImageTextToText, AutoModel):
        loaded = auto_class.from_pretrained(tmp_path).eval()
        assert isinstance(loaded, Graph4MMForConditionalGeneration)
        assert torch.equal(loaded(**batch).logits, expected)
        assert not any(p.requires_grad for p in loaded.language_model.parameters())


def test_hop_diffused_aware_round_trips_through_save_pretrained(tmp_path):
    model = build("opt", structure="hop_diffused_aware")
    names = {name for name, _ in model.named_parameters()}
    assert {
        "image_structure.hop_aware.hop_embeddings.weight",
        "image_structure.hop_diffused.query.weight",
    } <= names
    batch = make_batch(model.config)
    expected = model(**batch).logits
    model.save_pretrained(tmp_path)
    loaded = AutoModelForImageTextToText.from_pretrained(tmp_path).eval()
    assert loaded.config.structure == "hop_diffused_aware"
    assert torch.equal(loaded(**batch).logits, expected)


@pytest.mark.parametrize("vision_checkpoint", ["clip_vision_model", "full_clip"])
def test_from_backbones_loads_both_pretrained_backbones(tmp_path, vision_checkpoint):
    from transformers import AutoModelForCausalLM, CLIPConfig, CLIPModel, CLIPVisionModel

    from hf_graph4mm.tiny import build_tiny_tokenizer, tiny_clip_vision_config, tiny_opt_config

    torch.manual_seed(3)
    if vision_checkpoint == "full_clip":  # like openai/clip-vit-base-patch16: the vision tower is taken
        text = dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, vocab_size=300
        )
        clip = CLIPModel(CLIPConfig(text_config=text, vision_config=tiny_clip_vision_config().to_dict()))
        vision_weights = {
            k[len("vision_model.") :]: v for k, v in clip.state_dict().items() if "vision_model." in k
        }
        clip.save_pretrained(tmp_path / "vision")
    else:
        vision = CLIPVisionModel(tiny_clip_vision_config())
        vision_weights = vision.state_dict()
        vision.save_pretrained(tmp_path / "vision")
    language = AutoModelForCausalLM.from_config(tiny_opt_config(261))
    language.save_pretrained(tmp_path / "lm")
    build_tiny_tokenizer().save_pretrained(tmp_path / "lm")
    model = Graph4MMForConditionalGeneration.from_backbones(
        str(tmp_path / "vision"),
        str(tmp_path / "lm"),
        qformer_config={"hidden_size": 16, "num_attention_heads": 2, "intermediate_size": 32},
        num_query_tokens_per_image=2,
        max_image_nodes=3,
    )
    assert model.config.image_token_id == IMAGE_TOKEN_ID  # read from the LM's tokenizer
    loaded_vision = model.vision_model.state_dict()
    assert set(loaded_vision) == set(vision_weights)
    for name, tensor in vision_weights.items():
        assert torch.equal(loaded_vision[name], tensor), name
    for name, tensor in language.state_dict().items():
        assert torch.equal(model.language_model.state_dict()[name], tensor), name
    assert not any(p.requires_grad for p in model.language_model.parameters())
    assert not any(p.requires_grad for p in model.vision_model.parameters())
    assert all(p.requires_grad for p in model.qformer.parameters())
    assert torch.isfinite(model(**make_batch(model.config)).loss)


def test_trainable_parameter_counts_match_hand_derived_sizes():
    def trainable(**overrides):
        return sum(p.numel() for p in build(**overrides).parameters() if p.requires_grad)

    width, max_hops = 16, 2  # tiny_config's Q-Former width; default tau
    query_key = 2 * (width * width + width)  # one Hop-Diffused module: query and key projections
    assert trainable() - trainable(structure="none") == 2 * query_key  # text + image subgraphs
    assert trainable(text_structure=False) - trainable(structure="none") == query_key
    assert trainable(structure="hop_aware") - trainable(structure="none") == 2 * (max_hops + 2) * width
    vision_width, lm_width, per_image = 32, 32, 2
    assert trainable(fusion="concat") == vision_width * per_image * lm_width + per_image * lm_width


def test_a_separate_text_encoder_embeds_the_text_nodes_instead_of_the_lm(tmp_path):
    from transformers import BertConfig

    encoder_config = BertConfig(
        vocab_size=261, hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=48
    )
    model = build(text_encoder_config=encoder_config)
    assert model.text_node_projection.in_features == 24
    assert not any(p.requires_grad for p in model.text_encoder.parameters())
    batch = make_batch(model.config)
    seen = []
    model.text_encoder.register_forward_hook(lambda module, args, output: seen.append(output))
    model.language_model.get_decoder().register_forward_hook(lambda module, args, output: seen.append("lm"))
    output = model(**batch)
    assert seen.count("lm") == 1 and len(seen) == 2  # the LM runs once, on the prompt only
    tokens = batch["text_input_ids"][0, 0][batch["text_attention_mask"][0, 0].bool()]
    expected = model.text_encoder(input_ids=tokens[None]).last_hidden_state[0].mean(dim=0)
    vectors = text_node_vectors(
        model.text_encoder, batch["text_input_ids"], batch["text_attention_mask"], batch["text_node_mask"]
    )
    torch.testing.assert_close(vectors[0, 0], expected, rtol=1e-5, atol=1e-6)
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert torch.equal(loaded(**batch).logits, output.logits)


def test_activation_checkpointing_keeps_the_frozen_lm_in_training_mode_and_gradients_flow():
    model = build("llama")
    model.activation_checkpointing_enable()
    model.train()
    assert model.language_model.training and not model.vision_model.training
    reference = build("llama").train()
    batch = make_batch(model.config)
    loss, expected = model(**batch).loss, reference(**batch).loss
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)  # same weights, no dropout in the tiny LM
    loss.backward()
    expected.backward()
    torch.testing.assert_close(model.qformer.query_tokens.grad, reference.qformer.query_tokens.grad)


@pytest.mark.parametrize(
    "variant,reads",
    [
        ("hop_diffused", {"text_adjacency", "image_adjacency"}),
        ("hop_aware", {"text_hops", "image_hops"}),
        ("none", set()),
        ("no_text_structure", {"image_adjacency"}),
        ("no_image_structure", {"text_adjacency"}),
        ("mmgl_concat", set()),
    ],
)
def test_each_variant_reads_exactly_the_structure_it_names(variant, reads):
    model = build(**VARIANTS[variant])
    with torch.no_grad():  # O(1) weights: the 0.02-std init would shrink every effect below float noise
        for parameter in model.parameters():
            if parameter.requires_grad and parameter.dim() > 1:
                parameter.normal_(0.0, parameter.shape[-1] ** -0.5)
    batch = make_batch(model.config, num_text_nodes=(3, 3), num_image_nodes=(2, 2))
    reference = model(**batch).logits
    for name in ("text_adjacency", "image_adjacency", "text_hops", "image_hops"):
        changed = {key: value.clone() for key, value in batch.items()}
        if name.endswith("adjacency"):  # flip the edge between nodes 0 and 1 of sample 0
            edge = not bool(changed[name][0, 0, 1])
            changed[name][0, 0, 1] = changed[name][0, 1, 0] = edge
        else:  # move node 1 of sample 0 to another hop (3 is beyond max_hops: "unreachable")
            changed[name][0, 1] = 3 if int(changed[name][0, 1]) != 3 else 1
        logits = model(**changed).logits
        assert torch.equal(logits[1], reference[1])  # only sample 0 was touched
        if name in reads:
            assert (logits[0] - reference[0]).abs().max() > 1e-4, f"{variant} ignores {name}"
        else:
            assert torch.equal(logits[0], reference[0]), f"{variant} reads {name}"
