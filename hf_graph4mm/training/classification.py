"""Node classification with Graph4MM: rank each class's verbaliser by likelihood, score accuracy.

The recipe (docs/OWN_DATA_GRAPHS.md): every class has a verbaliser, the text the model writes for
it (:class:`~hf_graph4mm.data.user_graph.Verbalizer`; by default the class name). Training is
ordinary generation with the verbaliser as ``target_text``. Evaluation does not generate: for each
node, ``model.score_candidates`` gives the log-likelihood of every verbaliser after the node's
prompt, and the best one is the prediction (mean log-likelihood per token, so long verbalisers are
not penalised). Zero-shot: candidates may include classes never trained on (Ele-Fashion's unseen
classes); supervised: every class was seen.

Rows need ``target_node`` (and ``graph``, or a shared graph) and ``label_name`` (or a ``label``
class id). Where the labels come from (:func:`resolve_verbalizer`): ``--labels`` (comma-separated
names or a ``labels.json``), else the dataset folder's ``labels.json`` (written by
``hf-graph4mm build-graph``), else the names found in ``label_name`` (sorted; Ele-Fashion's
zero-shot test ranks the unseen classes present), else the ``label`` column's class names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ..data.user_graph.labels import LABELS_FILE, Verbalizer
from ..metrics.accuracy import zero_shot_accuracy


def resolve_verbalizer(split, labels=None, dataset: str | os.PathLike | None = None) -> Verbalizer:
    """The classes and their verbalisers for ``split`` (see the module docstring for the order)."""
    if isinstance(labels, Verbalizer):
        return labels
    if isinstance(labels, (list, tuple)):
        return Verbalizer.build(labels)
    if isinstance(labels, str) and labels:
        if labels.endswith(".json") or Path(labels).is_dir():
            return Verbalizer.load(labels)
        return Verbalizer.build([name.strip() for name in labels.split(",") if name.strip()])
    if dataset is not None and (Path(dataset) / LABELS_FILE).is_file():
        return Verbalizer.load(Path(dataset) / LABELS_FILE)
    if "label_name" in split.column_names:
        return Verbalizer.build(sorted({name for name in split["label_name"] if name is not None}))
    feature = split.features.get("label") if hasattr(split, "features") else None
    if feature is not None and hasattr(feature, "names"):
        return Verbalizer.build(feature.names)
    raise ValueError(
        "classification needs labels: pass --labels name1,name2,... (or a labels.json), or a dataset with a "
        "labels.json, a ClassLabel 'label' column or a 'label_name' column"
    )


def reference_names(split, verbalizer: Verbalizer) -> list[str]:
    """Each row's true class name (``label_name``, else the ``label`` class id named by the verbaliser)."""
    if "label_name" in split.column_names:
        names = list(split["label_name"])
    elif "label" in split.column_names:
        names = [
            verbalizer.name_of(int(label)) if label is not None and label >= 0 else None
            for label in split["label"]
        ]
    else:
        raise ValueError(
            f"classification rows need a 'label_name' or 'label' column; columns: {split.column_names}"
        )
    unknown = sorted({name for name in names if name is not None and name not in verbalizer.label_names})
    if unknown:
        raise ValueError(
            f"rows are labelled {unknown}, which are not among the candidates {list(verbalizer.label_names)}"
        )
    return names


def encode_candidates(tokenizer, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """``[candidates, tokens]`` right-padded ids (no special tokens) and mask, whatever the tokenizer's
    padding side (``score_candidates`` reads each candidate's real tokens first)."""
    rows = [list(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts]
    empty = [text for text, row in zip(texts, rows) if not row]
    if empty:
        raise ValueError(f"candidate texts {empty} have no tokens")
    length = max(len(row) for row in rows)
    ids = torch.full((len(rows), length), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros(len(rows), length, dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = torch.tensor(row)
        mask[index, : len(row)] = 1
    return ids, mask


@torch.no_grad()
def rank_classes(
    model, processor, rows, verbalizer: Verbalizer, prompt=None, shared_graph=None, batch_size: int = 8
) -> list[str]:
    """The best-scoring class name for every row (graph + ``target_node``)."""
    from ..processing import Graph4MMCollator

    collator = Graph4MMCollator(
        processor, padding_side="left", with_labels=False, prompt=prompt, graph=shared_graph
    )
    device = next(model.parameters()).device
    ids, mask = (tensor.to(device) for tensor in encode_candidates(processor.tokenizer, verbalizer.texts))
    model.eval()
    rows = list(rows)
    predictions: list[str] = []
    for start in range(0, len(rows), batch_size):
        batch = {key: value.to(device) for key, value in collator(rows[start : start + batch_size]).items()}
        scores = model.score_candidates(ids, candidate_attention_mask=mask, **batch)
        predictions.extend(verbalizer.label_names[int(best)] for best in scores.ranking[:, 0])
    return predictions


def classification_metrics(
    predictions: Sequence[str], references: Sequence[str], verbalizer: Verbalizer
) -> dict:
    """``accuracy`` over rows, ``num_samples``, and ``accuracy/<class>`` for every class with rows."""
    metrics = zero_shot_accuracy(predictions, references, normalize=False)
    metrics["num_samples"] = len(references)
    for name in verbalizer.label_names:
        mine = [
            prediction == name for prediction, reference in zip(predictions, references) if reference == name
        ]
        if mine:
            metrics[f"accuracy/{name}"] = sum(mine) / len(mine)
    return metrics


def evaluate_classification(
    model,
    processor,
    split,
    *,
    labels=None,
    dataset: str | os.PathLike | None = None,
    prompt=None,
    shared_graph=None,
    batch_size: int = 8,
) -> dict:
    """Classification accuracy of ``model`` on ``split`` by ranking verbalisers.

    Rows without a label are skipped; with an ``is_seen_class`` column that is not all true, only the
    unseen classes' rows are scored (the zero-shot protocol). ``labels`` / ``dataset``: see
    :func:`resolve_verbalizer`.
    """
    if "is_seen_class" in split.column_names and not all(split["is_seen_class"]):
        split = split.filter(lambda row: not row["is_seen_class"])
    verbalizer = resolve_verbalizer(split, labels, dataset)
    names = reference_names(split, verbalizer)
    keep = [index for index, name in enumerate(names) if name is not None]
    if not keep:
        raise ValueError("no labelled row to classify")
    if len(keep) != len(names):
        split, names = split.select(keep), [names[index] for index in keep]
    predictions = rank_classes(model, processor, split, verbalizer, prompt, shared_graph, batch_size)
    return classification_metrics(predictions, names, verbalizer)
