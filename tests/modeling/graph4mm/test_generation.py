"""generate() with the KV cache and with padding, and zero-shot candidate scoring, on tiny OPT and Llama."""

from __future__ import annotations

import pytest
import torch

from hf_graph4mm import Graph4MMForConditionalGeneration
from hf_graph4mm.graph_batch import GraphInputs
from hf_graph4mm.testing import graph4mm_batch as make_batch
from hf_graph4mm.testing import select_sample as select
from hf_graph4mm.testing import tiny_graph4mm_config as tiny_config

GREEDY = dict(max_new_tokens=6, do_sample=False, pad_token_id=0, eos_token_id=None)


def build(backbone, seed=0):
    torch.manual_seed(seed)
    return Graph4MMForConditionalGeneration(tiny_config(backbone)).eval()


def new_tokens(model, batch, **kwargs):
    """generate() returns the prompt then the new tokens: the new ones."""
    return model.generate(**batch, **kwargs)[:, batch["input_ids"].shape[1] :]


def prompts(model, padding_side, lengths=(5, 1), seed=0):
    return make_batch(
        model.config, prompt_lengths=lengths, padding_side=padding_side, with_labels=False, seed=seed
    )


@pytest.mark.parametrize("backbone", ["opt", "llama"])
def test_greedy_with_cache_equals_without_and_batched_equals_one_by_one(backbone):
    model = build(backbone)
    left = prompts(model, "left")
    cached = new_tokens(model, left, **GREEDY, use_cache=True)
    uncached = new_tokens(model, left, **GREEDY, use_cache=False)
    assert cached.shape == (2, GREEDY["max_new_tokens"])
    assert torch.equal(cached, uncached)
    for row in range(2):
        alone = new_tokens(model, select(left, row), **GREEDY)
        assert torch.equal(alone[0], cached[row]), f"sample {row}: batched {cached[row]} vs alone {alone[0]}"
    # a right-padded batch is re-aligned before generating
    assert torch.equal(new_tokens(model, prompts(model, "right"), **GREEDY), cached)


@pytest.mark.parametrize("backbone", ["opt", "llama"])
def test_greedy_tokens_follow_the_forward_argmax(backbone):
    """Independent check of the cache path: each generated token is the argmax of a full forward pass."""
    model = build(backbone, seed=1)
    sample = select(prompts(model, "left"), 0)
    generated = new_tokens(model, sample, **GREEDY)[0]
    sequence = sample["input_ids"]
    for token in generated:
        logits = model(**dict(sample, input_ids=sequence, attention_mask=torch.ones_like(sequence))).logits
        logits[..., model.config.image_token_id] = float("-inf")  # generate() never emits the placeholder
        assert int(logits[0, -1].argmax()) == int(token)
        sequence = torch.cat([sequence, token.view(1, 1)], dim=1)


def manual_candidate_log_likelihood(model, prompt_embeds, candidate):
    """Sum over the candidate's tokens of log p(token | prompt with queries, earlier tokens), one pass each."""
    total = 0.0
    for position, token in enumerate(candidate):
        prefix = model.get_input_embeddings()(candidate[:position])[None]
        embeds = torch.cat([prompt_embeds, prefix], dim=1)
        logits = model.language_model(inputs_embeds=embeds).logits[0, -1]
        total += torch.log_softmax(logits.double(), dim=-1)[token].item()
    return total


@pytest.mark.parametrize("backbone", ["opt", "llama"])
def test_candidate_scores_match_a_manual_lm_computation(backbone):
    model = build(backbone, seed=2)
    batch = prompts(model, "right", lengths=(4, 1))
    candidates = [torch.tensor([70, 71, 72]), torch.tensor([100]), torch.tensor([5, 6])]
    candidate_ids = torch.zeros(3, 3, dtype=torch.long)
    candidate_mask = torch.zeros(3, 3, dtype=torch.long)
    for index, tokens in enumerate(candidates):
        candidate_ids[index, : len(tokens)] = tokens
        candidate_mask[index, : len(tokens)] = 1
    scores = model.score_candidates(candidate_ids, candidate_attention_mask=candidate_mask, **batch)
    with torch.no_grad():
        for row in range(2):
            sample = select(batch, row)  # unpadded
            graph = {
                key: value for key, value in sample.items() if key not in ("input_ids", "attention_mask")
            }
            prompt_embeds, _, _ = model.build_inputs_embeds(sample["input_ids"], GraphInputs.from_flat(**graph))
            for index, tokens in enumerate(candidates):
                expected = manual_candidate_log_likelihood(model, prompt_embeds, tokens)
                assert scores.sum_log_likelihood[row, index].item() == pytest.approx(
                    expected, rel=1e-4, abs=1e-4
                )
                assert scores.mean_log_likelihood[row, index].item() == pytest.approx(
                    expected / len(tokens), rel=1e-4, abs=1e-4
                )
    for reduction, field in (("mean", scores.mean_log_likelihood), ("sum", scores.sum_log_likelihood)):
        ranked = model.score_candidates(
            candidate_ids, candidate_attention_mask=candidate_mask, reduction=reduction, **batch
        )
        assert torch.equal(ranked.ranking, torch.argsort(field, dim=-1, descending=True))
        ordered = field.gather(1, ranked.ranking)
        assert (ordered[:, :-1] >= ordered[:, 1:]).all()


def test_candidate_scoring_rejects_bad_input():
    model = build("opt")
    batch = prompts(model, "left")
    with pytest.raises(ValueError, match="candidate 1 has no tokens"):
        model.score_candidates(
            torch.tensor([[5, 6], [0, 0]]), candidate_attention_mask=torch.tensor([[1, 1], [0, 0]]), **batch
        )
    with pytest.raises(ValueError, match="reduction"):
        model.score_candidates(torch.tensor([[5]]), reduction="max", **batch)


def test_left_align_moves_padding_left_and_keeps_token_order():
    from hf_graph4mm.modeling.graph4mm.language_inputs import left_align, position_ids_from_mask

    mask = torch.tensor([[1, 1, 0, 0], [0, 1, 1, 1], [1, 0, 1, 0]])
    embeds = torch.arange(12.0).view(3, 4, 1)
    aligned, aligned_mask = left_align(embeds, mask)
    assert aligned_mask.tolist() == [[0, 0, 1, 1], [0, 1, 1, 1], [0, 0, 1, 1]]
    assert aligned[:, -2:, 0].tolist() == [[0.0, 1.0], [6.0, 7.0], [8.0, 10.0]]
    assert position_ids_from_mask(aligned_mask).tolist() == [[0, 0, 0, 1], [0, 0, 1, 2], [0, 0, 0, 1]]
