"""Graph4MM's generate() follows transformers' conventions for composite vision-language models (BLIP-2, LLaVA).

prompt + new tokens; every decoding mode through transformers' own loop with the graph read on the
prefill step; ``inputs_embeds``; continuing from a returned cache; assisted decoding; the scores and
lengths ``return_dict_in_generate`` reports. The reference for each is an independent computation
(greedy = the argmax of full forward passes, the same prompt without the feature, etc.).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hf_graph4mm import Graph4MMForConditionalGeneration
from hf_graph4mm.testing import graph4mm_batch, select_sample, tiny_graph4mm_config

NEW = 4
GREEDY = dict(max_new_tokens=NEW, do_sample=False, pad_token_id=0, eos_token_id=None)


def build(seed=0, backbone="opt"):
    torch.manual_seed(seed)
    return Graph4MMForConditionalGeneration(tiny_graph4mm_config(backbone)).eval()


def prompts(model, padding_side="left"):
    return graph4mm_batch(model.config, with_labels=False, padding_side=padding_side)


@pytest.mark.parametrize("backbone", ["opt", "llama"])
def test_generate_returns_the_prompt_then_greedy_argmax_tokens(backbone):
    model = build(backbone=backbone)
    batch = prompts(model)
    length = batch["input_ids"].shape[1]
    sequences = model.generate(**batch, **GREEDY)
    assert sequences.shape == (2, length + NEW)
    assert torch.equal(sequences[:, :length], batch["input_ids"])
    # each new token is the argmax of a full forward pass over the prompt and the tokens before it (among
    # the tokens generate() may emit: every one but the <image> placeholder)
    for row in range(2):
        sample = select_sample(batch, row)
        tokens = sample["input_ids"]
        for _ in range(NEW):
            with torch.no_grad():
                logits = model(**dict(sample, input_ids=tokens, attention_mask=torch.ones_like(tokens))).logits
            logits[..., model.config.image_token_id] = float("-inf")  # generate() never emits the placeholder
            tokens = torch.cat([tokens, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        assert torch.equal(tokens[0, -NEW:], sequences[row, -NEW:])


def test_right_padded_prompts_come_back_left_aligned():
    model = build()
    left, right = prompts(model, "left"), prompts(model, "right")
    assert torch.equal(model.generate(**right, **GREEDY), model.generate(**left, **GREEDY))


def test_sampling_and_beam_search_lengths_and_returned_sequences():
    model = build()
    batch = prompts(model)
    length = batch["input_ids"].shape[1]
    torch.manual_seed(3)
    sampled = model.generate(**batch, max_new_tokens=NEW, do_sample=True, top_k=5, num_return_sequences=3)
    torch.manual_seed(3)
    again = model.generate(**batch, max_new_tokens=NEW, do_sample=True, top_k=5, num_return_sequences=3)
    assert sampled.shape == (2 * 3, length + NEW) and torch.equal(sampled, again)
    assert torch.equal(sampled[:3, :length], batch["input_ids"][:1].expand(3, -1))  # each row's copies, in order
    beams = model.generate(**batch, **dict(GREEDY, num_beams=3, num_return_sequences=2))
    assert beams.shape == (2 * 2, length + NEW)
    # beam search with one beam is greedy search
    assert torch.equal(model.generate(**batch, **dict(GREEDY, num_beams=1)), model.generate(**batch, **GREEDY))


def test_return_dict_in_generate_reports_scores_logits_and_the_cache():
    model = build()
    batch = prompts(model)
    output = model.generate(
        **batch, **GREEDY, return_dict_in_generate=True, output_scores=True, output_logits=True,
        output_hidden_states=True,
    )  # fmt: skip
    assert output.sequences.shape == (2, batch["input_ids"].shape[1] + NEW)
    assert len(output.scores) == len(output.logits) == len(output.hidden_states) == NEW
    vocabulary = model.config.text_config.vocab_size
    assert all(step.shape == (2, vocabulary) for step in output.scores)
    new_tokens = output.sequences[:, -NEW:]
    assert torch.equal(torch.stack([step.argmax(-1) for step in output.logits], dim=1), new_tokens)
    assert output.past_key_values.get_seq_length() == output.sequences.shape[1] - 1


def test_inputs_embeds_generate_the_same_tokens():
    model = build()
    batch = prompts(model)
    graph = {key: value for key, value in batch.items() if key != "input_ids"}
    embeds = model.get_input_embeddings()(batch["input_ids"])  # placeholders found in the embeddings
    reference = model.generate(**batch, **GREEDY)
    only_embeds = model.generate(inputs_embeds=embeds, **graph, **GREEDY)
    assert torch.equal(only_embeds, reference[:, -NEW:])  # no ids given: only the new tokens, as transformers does
    both = model.generate(input_ids=batch["input_ids"], inputs_embeds=embeds, **graph, **GREEDY)
    assert torch.equal(both, reference)


def test_continuing_from_a_returned_cache_equals_one_call():
    model = build()
    batch = prompts(model)
    first = model.generate(**batch, **dict(GREEDY, max_new_tokens=2), return_dict_in_generate=True)
    continued = dict(batch, input_ids=first.sequences)
    continued["attention_mask"] = F.pad(batch["attention_mask"], (0, 2), value=1)
    # the graph inputs come again (as the prompt did); the cached prefix already holds the queries
    rest = model.generate(**continued, past_key_values=first.past_key_values, **dict(GREEDY, max_new_tokens=2))
    assert torch.equal(rest, model.generate(**batch, **GREEDY))


@pytest.mark.parametrize("assistant_seed", [0, 5])
def test_assisted_decoding_gives_the_greedy_tokens(assistant_seed):
    """With the same model (every draft accepted) or another random one (most rejected): greedy's tokens."""
    model = build()
    assistant = build(seed=assistant_seed)
    sample = {key: value[:1] for key, value in prompts(model).items()}
    expected = model.generate(**sample, **GREEDY)
    assert torch.equal(model.generate(**sample, **GREEDY, assistant_model=assistant), expected)


def test_cached_and_uncached_decoding_agree():
    model = build(backbone="llama")
    batch = prompts(model)
    assert torch.equal(model.generate(**batch, **GREEDY, use_cache=False), model.generate(**batch, **GREEDY))


def test_the_placeholder_is_never_generated():
    """A random tiny LM ranks <image> first somewhere; generate() still never emits it."""
    model = build()
    batch = prompts(model)
    placeholder = model.config.image_token_id

    def favour_the_placeholder(module, args, logits):
        return logits + 100.0 * torch.nn.functional.one_hot(torch.tensor(placeholder), logits.shape[-1])

    model.get_output_embeddings().register_forward_hook(favour_the_placeholder)
    with torch.no_grad():
        logits = model(**batch).logits
    assert (logits[:, -1].argmax(-1) == model.config.image_token_id).all()
    generated = model.generate(**batch, **GREEDY)[:, batch["input_ids"].shape[1] :]
    assert not (generated == model.config.image_token_id).any()
