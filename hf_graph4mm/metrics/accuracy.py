"""Accuracy for zero-shot classification by generation: the generated text must name the class.

A prediction counts as correct when it equals its reference after normalisation: Unicode
case folding, leading/trailing whitespace and punctuation removed, inner whitespace runs
collapsed to one space ("  Dresses. " == "dresses"). Nothing looser (no substring or prefix
match), so a model that rambles on after the class name is not rewarded. Integer class ids are
compared as they are. Pass ``normalize=False`` for exact string equality.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import evaluate

_STRIPPED = string.whitespace + string.punctuation


def normalize_label(text: str) -> str:
    """Case-folded text without surrounding whitespace/punctuation, inner whitespace collapsed."""
    return " ".join(text.casefold().strip(_STRIPPED).split())


def zero_shot_accuracy(
    predictions: Sequence[str | int], references: Sequence[str | int], normalize: bool = True
) -> dict:
    """Fraction of predictions equal to their reference label.

    Args:
        predictions: ``[samples]`` generated class names (or predicted class ids).
        references: ``[samples]`` true class names (or ids), of the same kind as the predictions.
        normalize: compare normalised strings (see the module docstring) rather than exact ones.

    Returns:
        ``{"accuracy": fraction in [0, 1]}``.
    """
    if isinstance(predictions, str) or isinstance(references, str):
        raise ValueError("accuracy: predictions and references must be lists (one entry per sample)")
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(f"accuracy: got {len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise ValueError("accuracy: no samples to score (predictions and references are empty)")
    correct = 0
    for index, (prediction, reference) in enumerate(zip(predictions, references)):
        if isinstance(prediction, str) != isinstance(reference, str):
            raise ValueError(
                f"accuracy: sample {index} compares a {type(prediction).__name__} prediction with a "
                f"{type(reference).__name__} reference; give both as class names or both as class ids"
            )
        if isinstance(prediction, str) and normalize:
            prediction, reference = normalize_label(prediction), normalize_label(reference)
        correct += prediction == reference
    return {"accuracy": correct / len(predictions)}


class ZeroShotAccuracy(evaluate.Metric):
    """Zero-shot classification accuracy as an offline ``evaluate.Metric``; ``compute(..., normalize=)``."""

    def _info(self) -> evaluate.MetricInfo:
        import datasets

        return evaluate.MetricInfo(
            description="Accuracy of generated class names against the true ones, after normalisation.",
            citation="",
            features=[
                datasets.Features(
                    {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
                ),
                datasets.Features(
                    {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
                ),
            ],
        )

    def _compute(self, predictions, references, normalize: bool = True):
        return zero_shot_accuracy(predictions, references, normalize=normalize)
