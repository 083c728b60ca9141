"""Both families trace: ``torch.export`` (static and dynamic batch), ``torch.compile(fullgraph=True)`` of the
forward, and ``torch.compile`` of a whole training step (forward, backward, optimizer step) giving eager's
losses. Input checks that read tensor values become assertions inside the traced graph.

The compiler backend is "aot_eager": it traces with dynamo and AOTAutograd (where data-dependent Python,
storage tricks and graph breaks fail) without spending a minute generating C++ on a 2-core CI machine.
"""

from __future__ import annotations

import pytest
import torch

from hf_graph4mm import Graph4MMForConditionalGeneration, GsiTForSequenceClassification
from hf_graph4mm.testing import graph4mm_batch, gsit_batch, tiny_graph4mm_config, tiny_gsit_config

NO_DROPOUT = dict(
    attention_dropout=0.0, embedding_dropout=0.0, residual_dropout=0.0, activation_dropout=0.0, text_dropout=0.0
)


@pytest.fixture(autouse=True)
def fresh_compiler():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def gsit(fusion="interlaced"):
    torch.manual_seed(0)
    return GsiTForSequenceClassification(tiny_gsit_config(fusion=fusion, **NO_DROPOUT))


def graph4mm():
    torch.manual_seed(0)
    return Graph4MMForConditionalGeneration(tiny_graph4mm_config())


def graph4mm_inputs(model, batch_size=2):
    counts = {2: ((3, 2), (2, 1)), 3: ((3, 2, 1), (2, 1, 2))}[batch_size]
    batch = graph4mm_batch(
        model.config,
        num_text_nodes=counts[0],
        num_image_nodes=counts[1],
        prompt_lengths=(4, 2, 3)[:batch_size],
        answer_lengths=(3, 2, 2)[:batch_size],
    )
    return dict(batch, use_cache=False)


def grown(batch, extra=2):
    """The batch with its first ``extra`` samples appended again (another batch size, same shapes otherwise)."""
    return {key: torch.cat([value, value[:extra]]) if torch.is_tensor(value) else value for key, value in batch.items()}


def dynamic_batch(batch):
    size = torch.export.Dim("batch", min=2, max=64)
    return {key: ({0: size} if torch.is_tensor(value) else None) for key, value in batch.items()}


@pytest.mark.parametrize("fusion", ["interlaced", "mult"])
def test_gsit_exports_with_a_static_and_a_dynamic_batch(fusion):
    model = gsit(fusion).eval()
    batch = gsit_batch()
    with torch.no_grad():
        static = torch.export.export(model, (), kwargs=batch, strict=False)
        torch.testing.assert_close(static.module()(**batch).logits, model(**batch).logits)
        dynamic = torch.export.export(model, (), kwargs=batch, dynamic_shapes=dynamic_batch(batch), strict=False)
        five = grown(batch)
        torch.testing.assert_close(dynamic.module()(**five).logits, model(**five).logits)
    bad = dict(batch, audio_lengths=torch.tensor([100, 1, 1]))
    with pytest.raises(RuntimeError, match="audio_lengths holds a length outside"):
        dynamic.module()(**bad)


@pytest.mark.slow
def test_graph4mm_exports_with_a_static_and_a_dynamic_batch():
    model = graph4mm().eval()
    batch = graph4mm_inputs(model)
    with torch.no_grad():
        reference = model(**batch)
        static = torch.export.export(model, (), kwargs=batch, strict=False)
        output = static.module()(**batch)
        torch.testing.assert_close(output.logits, reference.logits)
        torch.testing.assert_close(output.loss, reference.loss)
        dynamic = torch.export.export(model, (), kwargs=batch, dynamic_shapes=dynamic_batch(batch), strict=False)
        three = graph4mm_inputs(model, batch_size=3)
        torch.testing.assert_close(dynamic.module()(**three).logits, model(**three).logits)
    wrong = dict(batch, input_ids=batch["input_ids"].clone())
    wrong["input_ids"][1, wrong["input_ids"][1] == model.config.image_token_id] = 5
    with pytest.raises(RuntimeError, match="does not hold num_query_tokens"):
        dynamic.module()(**wrong)


def test_gsit_forward_compiles_as_one_graph():
    model = gsit().eval()
    batch = gsit_batch()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        torch.testing.assert_close(compiled(**batch).logits, model(**batch).logits)


@pytest.mark.slow
def test_graph4mm_forward_compiles_as_one_graph():
    model = graph4mm().eval()
    batch = graph4mm_inputs(model)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        torch.testing.assert_close(compiled(**batch).logits, model(**batch).logits)


def training_losses(model, batch, steps, compile_step):
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)

    def step():
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss.detach()

    run = torch.compile(step, backend="aot_eager") if compile_step else step
    model.train()
    return torch.stack([run() for _ in range(steps)])


@pytest.mark.slow
@pytest.mark.parametrize("family", ["gsit", "graph4mm"])
def test_a_compiled_training_step_gives_eagers_losses(family):
    if family == "gsit":
        build, batch = gsit, dict(gsit_batch(), labels=torch.tensor([0.5, -1.0, 2.0]))
    else:
        build = graph4mm
        batch = graph4mm_inputs(graph4mm())
    eager = training_losses(build(), batch, steps=3, compile_step=False)
    compiled = training_losses(build(), batch, steps=3, compile_step=True)
    assert eager[0] != eager[-1]  # the optimizer steps really changed the model
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=1e-5)
