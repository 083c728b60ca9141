"""Small numeric scores over label arrays (what scikit-learn would give, without depending on it)."""

from __future__ import annotations

import numpy as np


def accuracy_score(true_labels: np.ndarray, predicted_labels: np.ndarray) -> float:
    """Fraction of equal entries. ``true_labels, predicted_labels: [samples]``."""
    return float(np.mean(true_labels == predicted_labels))


def weighted_f1_score(true_labels: np.ndarray, predicted_labels: np.ndarray) -> float:
    """Per-class F1 averaged with weights = each class's support in ``true_labels``.

    Same as ``sklearn.metrics.f1_score(true, pred, average="weighted")``: a class with no
    correct prediction scores 0 (there F1 = 2TP / (2TP + FP + FN) = 0), a class only ever
    predicted has weight 0. ``true_labels, predicted_labels: [samples]``.
    """
    total, weighted_sum = 0, 0.0
    for label in np.unique(true_labels):
        is_true, is_predicted = true_labels == label, predicted_labels == label
        true_positives = int(np.sum(is_true & is_predicted))
        errors = int(np.sum(is_true ^ is_predicted))  # false positives + false negatives
        support = int(np.sum(is_true))
        weighted_sum += support * (2 * true_positives / (2 * true_positives + errors))
        total += support
    return weighted_sum / total


def pearson_correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Pearson's r of two ``[samples]`` arrays; NaN when either is constant (r is undefined there)."""
    first_centred, second_centred = first - first.mean(), second - second.mean()
    denominator = np.sqrt(np.sum(first_centred**2) * np.sum(second_centred**2))
    if denominator == 0.0:
        return float("nan")
    return float(np.sum(first_centred * second_centred) / denominator)
