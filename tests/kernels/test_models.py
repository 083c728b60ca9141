"""Whole models give the same loss, logits and gradients under eager, sdpa and triton.

Tiny GsiT (interlaced attention) and Graph4MM (hop-diffused attention) in float64,
through a real save_pretrained / from_pretrained(attn_implementation=...), forward with
labels and backward. The triton backend runs its kernels (checked by counting calls),
not a fallback. Models are in eval mode so that no dropout draws differ between runs.
"""

from __future__ import annotations

import pytest
import torch

from hf_graph4mm import Graph4MMForConditionalGeneration, GsiTForSequenceClassification
from hf_graph4mm.testing import graph4mm_batch as make_batch
from hf_graph4mm.testing import gsit_batch as random_batch
from hf_graph4mm.testing import tiny_graph4mm_config, tiny_gsit_config

pytest.importorskip("triton")
from hf_graph4mm.kernels.hop_diffused import triton as triton_hop_diffused  # noqa: E402
from hf_graph4mm.kernels.interlaced import triton as triton_interlaced  # noqa: E402

IMPLEMENTATIONS = ["eager", "sdpa", "triton"]


def count_kernel_calls(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def loss_logits_grads(model, inputs):
    model.zero_grad()
    output = model(**inputs)
    output.loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return output.loss.detach(), output.logits.detach(), grads


def assert_same_training_step(path, model_class, inputs, monkeypatch, kernel_module, kernel_name):
    results = {}
    calls = count_kernel_calls(monkeypatch, kernel_module, kernel_name)
    for implementation in IMPLEMENTATIONS:
        # our attention modules only (a dict targets parts): the backbones keep one backend throughout
        model = model_class.from_pretrained(path, attn_implementation={"": implementation}).double().eval()
        assert model.config._attn_implementation == implementation
        results[implementation] = loss_logits_grads(model, inputs)
    assert calls, "the triton backend fell back instead of running its kernel"
    loss, logits, grads = results["eager"]
    assert grads, "no parameter received a gradient"
    for implementation in ("sdpa", "triton"):
        other_loss, other_logits, other_grads = results[implementation]
        torch.testing.assert_close(other_loss, loss, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(other_logits, logits, atol=1e-10, rtol=1e-10)
        assert other_grads.keys() == grads.keys()
        for name in grads:
            torch.testing.assert_close(other_grads[name], grads[name], atol=1e-10, rtol=1e-10, msg=name)


def test_gsit_same_loss_logits_and_gradients_under_every_backend(tmp_path, monkeypatch):
    config = tiny_gsit_config(attn_implementation="eager", attention_dropout=0.0, num_layers=1)
    torch.manual_seed(0)
    GsiTForSequenceClassification(config).save_pretrained(tmp_path)
    inputs = random_batch()
    inputs = {key: value.double() if value.is_floating_point() else value for key, value in inputs.items()}
    inputs["labels"] = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64)
    assert_same_training_step(
        tmp_path,
        GsiTForSequenceClassification,
        inputs,
        monkeypatch,
        triton_interlaced,
        "interlaced_attention_triton_kernel",
    )


def test_graph4mm_same_loss_logits_and_gradients_under_every_backend(tmp_path, monkeypatch):
    config = tiny_graph4mm_config(attn_implementation="eager")
    torch.manual_seed(0)
    Graph4MMForConditionalGeneration(config).save_pretrained(tmp_path)
    inputs = make_batch(config)
    inputs["pixel_values"] = inputs["pixel_values"].double()
    assert_same_training_step(
        tmp_path,
        Graph4MMForConditionalGeneration,
        inputs,
        monkeypatch,
        triton_hop_diffused,
        "hop_diffused_attention_triton_kernel",
    )
