"""graph-text-generation and zero-shot-node-classification against direct model calls."""

from __future__ import annotations

import pytest
import torch
from transformers import pipeline

from hf_graph4mm.pipelines import GraphTextGenerationPipeline, ZeroShotNodeClassificationPipeline
from hf_graph4mm.testing import sample_graph, tiny_graph4mm


def reference_generation(model, processor, graphs, targets, prompts=None, **generate_kwargs) -> list[str]:
    batch = processor(graphs=graphs, targets=targets, prompts=prompts, padding_side="left")
    with torch.no_grad():
        new_tokens = model.generate(**batch, **generate_kwargs)[:, batch["input_ids"].shape[1] :]
    return processor.batch_decode(new_tokens, skip_special_tokens=True)


def test_generation_matches_model_generate(generator):
    model, processor = tiny_graph4mm()
    graph = sample_graph()
    output = generator({"graph": graph, "target": 0, "prompt": "Say:"}, max_new_tokens=4)
    assert isinstance(generator, GraphTextGenerationPipeline)
    expected = reference_generation(model, processor, [graph], [0], ["Say:"], max_new_tokens=4)
    assert output == [{"generated_text": expected[0]}]


def test_return_tensors_gives_the_generated_token_ids(generator):
    model, processor = tiny_graph4mm()
    graph = sample_graph()
    batch = processor(graphs=graph, targets=3, padding_side="left")
    with torch.no_grad():
        expected = model.generate(**batch, max_new_tokens=5)[0, batch["input_ids"].shape[1] :].tolist()
    output = generator(graph, target=3, max_new_tokens=5, return_tensors=True)
    assert output == [{"generated_token_ids": expected}]


def test_batched_generation_and_generate_kwargs(generator):
    model, processor = tiny_graph4mm()
    graph = sample_graph()
    inputs = [
        {"graph": graph, "target": 0},
        {"graph": graph.to_dict(), "target": 3},
        {"graph": graph, "target": 2},
    ]
    outputs = generator(inputs, batch_size=2, max_new_tokens=3, generate_kwargs={"num_beams": 1})
    singles = [reference_generation(model, processor, [graph], [t], max_new_tokens=3)[0] for t in (0, 3, 2)]
    assert [o[0]["generated_text"] for o in outputs] == singles
    # max_new_tokens really reaches generate: 3 byte-level tokens decode to at most 3 characters
    assert all(len(o[0]["generated_text"]) <= 3 for o in outputs)


def test_target_as_call_argument_and_saved_folder(tmp_path):
    model, processor = tiny_graph4mm()
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    from_folder = pipeline("graph-text-generation", model=str(tmp_path))
    graph = sample_graph()
    expected = reference_generation(model, processor, [graph], [2], max_new_tokens=4)[0]
    assert from_folder(graph, target=2, max_new_tokens=4) == [{"generated_text": expected}]
    classifier = pipeline("zero-shot-node-classification", model=str(tmp_path))
    in_memory = pipeline("zero-shot-node-classification", model=model, processor=processor)
    labels = ["cat", "dog"]
    assert classifier(graph, target=2, candidate_labels=labels) == in_memory(
        graph, target=2, candidate_labels=labels
    )


@pytest.mark.parametrize(
    ("inputs", "kwargs", "message"),
    [
        ({"graph": sample_graph()}, {}, "no target node"),
        ({"graph": sample_graph(), "target": 9}, {}, "no target node 9"),
        ({"graph": {"nodes": [{"text": "a"}, {}], "edges": [[0, 1]]}, "target": 0}, {}, "node 1"),
        ("just a string", {"target": 0}, "MultimodalGraph"),
    ],
)
def test_malformed_graph_inputs(generator, inputs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generator(inputs, max_new_tokens=1, **kwargs)


def test_missing_processor_is_a_clear_error():
    model, _ = tiny_graph4mm()
    with pytest.raises(ValueError, match="Graph4MMProcessor"):
        pipeline("graph-text-generation", model=model)


def reference_label_scores(model, processor, graph, target, labels, reduction="mean") -> torch.Tensor:
    """Softmax over each label's log-likelihood, from forward() with the label as the answer (float64)."""
    log_likelihoods = []
    for label in labels:
        batch = processor(graphs=graph, targets=target, target_texts=label)
        with torch.no_grad():
            logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits[0].double()
        labels_row = batch["labels"][0]
        positions = (labels_row != -100).nonzero().flatten()[:-1]  # the label's tokens, not the closing </s>
        assert len(positions) == len(processor.tokenizer(label, add_special_tokens=False)["input_ids"])
        log_probs = torch.log_softmax(logits[positions - 1], dim=-1)
        token_scores = log_probs.gather(-1, labels_row[positions][:, None]).squeeze(-1)
        log_likelihoods.append(token_scores.mean() if reduction == "mean" else token_scores.sum())
    return torch.softmax(torch.stack(log_likelihoods), dim=0)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_zero_shot_scores_are_the_softmax_of_label_likelihoods(reduction):
    model, processor = tiny_graph4mm()
    classifier = pipeline("zero-shot-node-classification", model=model, processor=processor)
    assert isinstance(classifier, ZeroShotNodeClassificationPipeline)
    labels = ["cat", "dog house", "a mat"]
    graph = sample_graph()
    result = classifier(graph, target=2, candidate_labels=labels, reduction=reduction)
    expected = reference_label_scores(model, processor, graph, 2, labels, reduction)
    order = torch.argsort(expected, descending=True).tolist()
    assert result["graph"] == "page" and result["target"] == 2
    assert result["labels"] == [labels[i] for i in order]
    assert result["scores"] == pytest.approx([float(expected[i]) for i in order], abs=1e-5)
    assert sum(result["scores"]) == pytest.approx(1.0)
    assert result["scores"] == sorted(result["scores"], reverse=True)


def test_zero_shot_batched_equals_single():
    model, processor = tiny_graph4mm()
    classifier = pipeline("zero-shot-node-classification", model=model, processor=processor)
    graph = sample_graph()
    inputs = [{"graph": graph, "target": t} for t in (0, 2, 3)]
    batched = classifier(inputs, candidate_labels="cat, dog", batch_size=2)
    singles = [classifier(item, candidate_labels=["cat", "dog"]) for item in inputs]
    for got, want in zip(batched, singles):
        assert got["labels"] == want["labels"] and got["target"] == want["target"]
        assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)


@pytest.mark.parametrize(
    ("labels", "message"), [([], "at least one"), (["cat", "cat"], "repeated"), (["cat", " "], "non-empty")]
)
def test_zero_shot_bad_candidate_labels(labels, message):
    model, processor = tiny_graph4mm()
    classifier = pipeline("zero-shot-node-classification", model=model, processor=processor)
    with pytest.raises(ValueError, match=message):
        classifier(sample_graph(), target=0, candidate_labels=labels)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_generation_on_gpu_matches_cpu():
    model, processor = tiny_graph4mm()
    graph = sample_graph()
    cpu = pipeline("graph-text-generation", model=model, processor=processor, device="cpu")(
        graph, target=0, max_new_tokens=4
    )
    gpu = pipeline("graph-text-generation", model=model, processor=processor, device="cuda")
    assert gpu.model.device.type == "cuda"
    assert gpu(graph, target=0, max_new_tokens=4) == cpu
    model.to("cpu")
