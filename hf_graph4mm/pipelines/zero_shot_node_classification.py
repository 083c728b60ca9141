"""``pipeline("zero-shot-node-classification")``: rank candidate labels for a target node.

Each candidate label is scored by the log-likelihood Graph4MM gives its text right after the
node's prompt (``model.score_candidates``); the scores are a softmax over the candidates'
log-likelihoods (per-token mean by default, ``reduction="sum"`` for the total), so they sum
to 1. The output mirrors transformers' zero-shot-classification:

    >>> classifier(graph, target=3, candidate_labels=["shoes", "hats"])
    {'graph': 'shop', 'target': 3, 'labels': ['hats', 'shoes'], 'scores': [0.7, 0.3]}

Verbalisers: ``candidate_labels`` may map each label to the text to score for it
(``{"shoe": "a pair of shoes", "hat": "a hat"}``, or a ``Verbalizer`` from
``hf_graph4mm.data.user_graph``, e.g. the ``labels.json`` a built dataset holds); the labels are
returned; a path to a ``labels.json`` (what ``hf-graph4mm build-graph`` writes, also through
``hf-graph4mm predict --candidate_labels DATASET/labels.json``) reads both. ``label_template="a photo of {}"``
formats every label the same way instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .graph_inputs import parse_graph_input
from .graph_processor import GraphPipeline

REDUCTIONS = ("mean", "sum")


def check_candidate_texts(candidate_labels) -> tuple[list[str], list[str] | None]:
    """``(labels, texts to score or None)``: a mapping / verbaliser gives a text per label, and so does a
    ``labels.json`` path (``{"label_names": [...], "verbalizers": [...]}``, as ``build-graph`` writes)."""
    if isinstance(candidate_labels, str) and candidate_labels.strip().endswith(".json"):
        candidate_labels = _labels_file(candidate_labels.strip())
    if hasattr(candidate_labels, "label_names") and hasattr(candidate_labels, "texts"):  # a Verbalizer
        candidate_labels = dict(zip(candidate_labels.label_names, candidate_labels.texts))
    if isinstance(candidate_labels, Mapping):
        labels = check_candidate_labels(list(candidate_labels))
        texts = check_candidate_labels([candidate_labels[label] for label in labels])
        return labels, texts
    return check_candidate_labels(candidate_labels), None


def _labels_file(path: str) -> dict[str, str]:
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"candidate labels file {path}: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("label_names"), list):
        raise ValueError(
            f"candidate labels file {path}: expected {{'label_names': [...], 'verbalizers': [...]}}"
        )
    texts = data.get("verbalizers") or data["label_names"]
    if len(texts) != len(data["label_names"]):
        raise ValueError(f"candidate labels file {path}: one verbaliser per label name is needed")
    return dict(zip(data["label_names"], texts))


def check_candidate_labels(candidate_labels) -> list[str]:
    """A list of distinct, non-empty label strings (a comma-separated string is split)."""
    if isinstance(candidate_labels, str):
        candidate_labels = [label.strip() for label in candidate_labels.split(",")]
    if not candidate_labels:
        raise ValueError("zero-shot node classification needs candidate_labels=[...] (at least one label)")
    labels = list(candidate_labels)
    for label in labels:
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"every candidate label must be a non-empty string, got {label!r}")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ValueError(f"candidate labels must be distinct; repeated: {duplicates}")
    return labels


class ZeroShotNodeClassificationPipeline(GraphPipeline):
    """Scores ``candidate_labels`` as the text of a target node (Graph4MM's zero-shot classification)."""

    def _sanitize_parameters(
        self, candidate_labels=None, target=None, prompt=None, label_template=None, reduction=None
    ):
        preprocess, forward = {}, {}
        if target is not None:
            preprocess["target"] = target
        if prompt is not None:
            preprocess["prompt"] = prompt
        if candidate_labels is not None:
            forward["candidate_labels"], texts = check_candidate_texts(candidate_labels)
            if texts is not None:
                forward["candidate_texts"] = texts
        if label_template is not None:
            if "{}" not in label_template:
                raise ValueError(f"label_template must contain '{{}}' for the label, got {label_template!r}")
            forward["label_template"] = label_template
        if reduction is not None:
            if reduction not in REDUCTIONS:
                raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
            forward["reduction"] = reduction
        return preprocess, forward, {}

    def preprocess(self, inputs, target=None, prompt=None):
        graph, target, prompt = parse_graph_input(inputs, target, prompt)
        example = self.processor.process_example(graph, target, prompt=prompt)
        return {"items": [example], "graph": [graph.name], "target": [target]}

    def candidate_ids(self, candidate_labels: list[str], label_template: str) -> dict[str, torch.Tensor]:
        """``[candidates, tokens]`` right-padded ids (no special tokens) and their mask."""
        encoded = self.tokenizer(
            [label_template.format(label) for label in candidate_labels],
            add_special_tokens=False,
            padding=True,
            return_tensors="pt",
        )
        # right padding whatever the tokenizer's default: score_candidates reads real tokens first
        rows = [ids[mask.bool()] for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"])]
        length = max(len(row) for row in rows)
        ids = torch.full((len(rows), length), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros(len(rows), length, dtype=torch.long)
        for index, row in enumerate(rows):
            ids[index, : len(row)], mask[index, : len(row)] = row, 1
        return {"candidate_input_ids": ids, "candidate_attention_mask": mask}

    def _forward(
        self, model_inputs, candidate_labels=None, label_template="{}", reduction="mean", candidate_texts=None
    ):
        if candidate_labels is None:
            raise ValueError("zero-shot node classification needs candidate_labels=[...]")
        batch = self.pad_items(model_inputs["items"])
        scored = candidate_texts if candidate_texts is not None else candidate_labels
        batch.update(self._move(self.candidate_ids(scored, label_template)))
        with torch.no_grad():
            scores = self.model.score_candidates(**batch, reduction=reduction)
        log_likelihood = scores.mean_log_likelihood if reduction == "mean" else scores.sum_log_likelihood
        return {
            "log_likelihood": log_likelihood,
            "graph": model_inputs["graph"],
            "target": model_inputs["target"],
            "candidate_labels": [candidate_labels] * len(model_inputs["graph"]),
        }

    def postprocess(self, model_outputs):
        probabilities = torch.softmax(model_outputs["log_likelihood"][0].double(), dim=-1)
        order = torch.argsort(probabilities, descending=True, stable=True).tolist()
        labels = model_outputs["candidate_labels"]
        labels = labels[0] if labels and isinstance(labels[0], list) else labels
        graph, target = model_outputs["graph"], model_outputs["target"]
        return {
            "graph": graph[0] if isinstance(graph, list) else graph,
            "target": target[0] if isinstance(target, list) else target,
            "labels": [labels[index] for index in order],
            "scores": [float(probabilities[index]) for index in order],
        }
