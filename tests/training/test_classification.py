"""Node classification by ranking verbalisers: the ranking, the metrics, where labels come from."""

import datasets
import pytest
import torch
from transformers import pipeline

from hf_graph4mm.data.user_graph import Verbalizer
from hf_graph4mm.processing import Graph4MMCollator, MultimodalGraph
from hf_graph4mm.testing import tiny_graph4mm
from hf_graph4mm.training.classification import (
    classification_metrics,
    encode_candidates,
    evaluate_classification,
    rank_classes,
    resolve_verbalizer,
)

GRAPH = MultimodalGraph(texts=["red running shoes", "a wool hat", "socks"], edges=[(0, 1), (1, 2)])
VERBALIZER = Verbalizer.build(["hat", "shoe"], {"shoe": "a pair of shoes"})


def _teacher_forced_mean_log_likelihood(model, processor, target: int, text: str) -> float:
    """The candidate's mean token log-probability after the prompt, from a plain forward pass."""
    batch = processor(GRAPH, target, target_texts=text)
    answer = processor.tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits[0].double()
    start = batch["input_ids"].shape[1] - 1 - len(answer)  # answer tokens, then </s>
    log_probs = torch.log_softmax(logits[start - 1 : start - 1 + len(answer)], dim=-1)
    return float(log_probs[torch.arange(len(answer)), torch.tensor(answer)].mean())


def test_ranking_agrees_with_teacher_forced_likelihoods():
    model, processor = tiny_graph4mm()
    rows = [{"graph": GRAPH.to_dict(), "target_node": node} for node in range(3)]
    predicted = rank_classes(model, processor, rows, VERBALIZER, batch_size=2)
    ids, mask = encode_candidates(processor.tokenizer, VERBALIZER.texts)
    batch = Graph4MMCollator(processor, padding_side="left", with_labels=False)(rows)  # left-padded, 3 rows
    with torch.no_grad():
        batched = model.score_candidates(ids, candidate_attention_mask=mask, **batch).mean_log_likelihood
    for node, name in enumerate(predicted):
        scores = [
            _teacher_forced_mean_log_likelihood(model, processor, node, text) for text in VERBALIZER.texts
        ]
        assert batched[node].tolist() == pytest.approx(scores, abs=1e-4)
        assert name == VERBALIZER.label_names[max(range(2), key=scores.__getitem__)]


def test_candidates_are_right_padded_whatever_the_tokenizer_pads():
    _, processor = tiny_graph4mm()
    tokenizer = processor.tokenizer
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        ids, mask = encode_candidates(tokenizer, ["ab", "abcd"])
    finally:
        tokenizer.padding_side = side
    first = tokenizer("ab", add_special_tokens=False)["input_ids"]
    assert ids[0, : len(first)].tolist() == first and mask[0].tolist() == [1] * len(first) + [0] * (
        4 - len(first)
    )
    assert mask[1].tolist() == [1, 1, 1, 1]  # byte-level tiny tokenizer: one token per character


def test_metrics_by_hand():
    metrics = classification_metrics(["hat", "shoe", "hat", "hat"], ["hat", "hat", "hat", "shoe"], VERBALIZER)
    assert metrics == {"accuracy": 0.5, "num_samples": 4, "accuracy/hat": 2 / 3, "accuracy/shoe": 0.0}


def test_where_the_labels_come_from(tmp_path):
    split = datasets.Dataset.from_dict(
        {"target_node": [0, 1], "label_name": ["shoe", "hat"], "label": [1, 0]},
        features=datasets.Features(
            {
                "target_node": datasets.Value("int64"),
                "label_name": datasets.Value("string"),
                "label": datasets.ClassLabel(names=["hat", "shoe", "sock"]),
            }
        ),
    )
    assert resolve_verbalizer(split, "sock, hat").label_names == ("sock", "hat")
    VERBALIZER.save(tmp_path)
    assert resolve_verbalizer(split, dataset=tmp_path) == VERBALIZER
    assert resolve_verbalizer(split, str(tmp_path / "labels.json")) == VERBALIZER
    assert resolve_verbalizer(split).label_names == ("hat", "shoe")  # the names present
    assert resolve_verbalizer(split.remove_columns("label_name")).label_names == ("hat", "shoe", "sock")
    with pytest.raises(ValueError, match=r"rows are labelled \['shoe'\], which are not among the candidates"):
        evaluate_classification(None, None, split, labels="hat,sock")


def test_evaluation_counts_labelled_rows_only():
    model, processor = tiny_graph4mm()
    split = datasets.Dataset.from_list(
        [
            {"graph": GRAPH.to_dict(), "target_node": 0, "label_name": "shoe"},
            {"graph": GRAPH.to_dict(), "target_node": 1, "label_name": None},
            {"graph": GRAPH.to_dict(), "target_node": 2, "label_name": "hat"},
        ]
    )
    metrics = evaluate_classification(model, processor, split, labels=VERBALIZER)
    predicted = rank_classes(model, processor, [split[0], split[2]], VERBALIZER)
    assert metrics["num_samples"] == 2
    assert metrics["accuracy"] == ((predicted[0] == "shoe") + (predicted[1] == "hat")) / 2


def test_pipeline_scores_verbalisers_and_returns_labels():
    model, processor = tiny_graph4mm()
    classifier = pipeline("zero-shot-node-classification", model=model, processor=processor)
    by_text = classifier({"graph": GRAPH, "target": 0}, candidate_labels=list(VERBALIZER.texts))
    by_label = classifier({"graph": GRAPH, "target": 0}, candidate_labels=VERBALIZER)
    names = dict(zip(VERBALIZER.texts, VERBALIZER.label_names))
    assert by_label["labels"] == [names[text] for text in by_text["labels"]]
    assert by_label["scores"] == pytest.approx(by_text["scores"], abs=1e-9)
    as_dict = classifier(
        {"graph": GRAPH, "target": 0}, candidate_labels={"hat": "hat", "shoe": "a pair of shoes"}
    )
    assert as_dict["labels"] == by_label["labels"]
