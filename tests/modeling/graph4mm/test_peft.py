"""PEFT on the language model of a Graph4MM composite: LoRA (regex-restricted) and prefix tuning."""

from __future__ import annotations

import re

import pytest
import torch
from peft import LoraConfig, PeftModel, PrefixTuningConfig, TaskType, get_peft_model

from hf_graph4mm import Graph4MMForConditionalGeneration
from hf_graph4mm.testing import graph4mm_batch as make_batch
from hf_graph4mm.testing import tiny_graph4mm_config as tiny_config

LM_ATTENTION = r".*language_model.*\.(q_proj|v_proj)"
GRAPH4MM_PARTS = [
    "image_node_projection",
    "text_node_projection",
    "image_structure",
    "text_structure",
    "qformer",
    "language_projection",
]


@pytest.fixture(scope="module")
def saved_base(tmp_path_factory):
    torch.manual_seed(0)
    model = Graph4MMForConditionalGeneration(tiny_config("llama")).eval()
    path = tmp_path_factory.mktemp("base")
    model.save_pretrained(path)
    return path, make_batch(model.config)


def load_base(path):
    return Graph4MMForConditionalGeneration.from_pretrained(path).eval()


def test_lora_targets_only_the_lms_attention_and_round_trips(saved_base, tmp_path):
    path, batch = saved_base
    base_logits = load_base(path)(**batch).logits
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=LM_ATTENTION,
        init_lora_weights=False,
        modules_to_save=GRAPH4MM_PARTS,
    )
    model = get_peft_model(load_base(path), config)
    lora_names = [name for name, _ in model.named_parameters() if "lora_" in name]
    assert len(lora_names) == 2 * 2 * 2  # 2 layers x (q_proj, v_proj) x (A, B)
    assert all(
        re.search(r"language_model\.model\.layers\.\d\.self_attn\.(q|v)_proj\.lora_", n) for n in lora_names
    )
    trainable = {name for name, parameter in model.named_parameters() if parameter.requires_grad}
    assert not any("vision_model" in name for name in trainable)
    assert not any("language_model" in name and "lora_" not in name for name in trainable)
    assert any("qformer" in name for name in trainable)  # the Graph4MM parts keep training

    output = model(**batch)
    assert not torch.allclose(output.logits, base_logits)  # the adapter is active
    output.loss.backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if "lora_" in n and p.requires_grad)
    with torch.no_grad():  # make the saved Graph4MM parts differ from the base ones
        for name, parameter in model.named_parameters():
            if "modules_to_save" in name and "language_projection" in name:
                parameter.add_(0.5)
    model.eval()
    expected = model(**batch).logits
    model.save_pretrained(tmp_path)

    reloaded = PeftModel.from_pretrained(load_base(path), tmp_path).eval()
    assert torch.equal(reloaded(**batch).logits, expected)


def test_prefix_tuning_on_the_language_model_round_trips(saved_base, tmp_path):
    """Prefix tuning wraps the LM itself; PEFT cannot wrap the composite (see the module docs)."""
    path, batch = saved_base
    model = load_base(path)
    base_logits = model(**batch).logits
    model.language_model = get_peft_model(
        model.language_model, PrefixTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=3)
    )
    trainable = [name for name, parameter in model.named_parameters() if parameter.requires_grad]
    assert "language_model.prompt_encoder.default.embedding.weight" in trainable
    assert not any(name.startswith("language_model.base_model") for name in trainable)
    output = model(**batch)
    assert not torch.allclose(output.logits, base_logits)
    output.loss.backward()
    assert model.language_model.prompt_encoder.default.embedding.weight.grad.abs().sum() > 0
    assert model.qformer.query_tokens.grad.abs().sum() > 0
    expected = model(**batch).logits
    model.language_model.save_pretrained(tmp_path)

    fresh = load_base(path)
    fresh.language_model = PeftModel.from_pretrained(fresh.language_model, tmp_path)
    assert torch.equal(fresh.eval()(**batch).logits, expected)
    candidates = torch.tensor([[70, 71], [100, 0]])
    scores = fresh.score_candidates(candidates, candidate_attention_mask=(candidates > 0).long(), **batch)
    assert torch.isfinite(scores.sum_log_likelihood).all()
