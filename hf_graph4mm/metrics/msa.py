"""Multimodal sentiment analysis metric sets (the field's standard definitions, as in MMSA).

Predictions and labels are sentiment regression values. All accuracies and F1 are fractions in
[0, 1] (papers print them as %).

MOSI / MOSEI (labels in [-3, 3]):
- ``acc2_has0`` / ``f1_has0``: binary "label >= 0" vs "label < 0" (prediction likewise) over all
  samples; F1 is the support-weighted F1 of the two classes.
- ``acc2_non0`` / ``f1_non0``: samples whose label is exactly 0 are dropped, then "> 0" vs "< 0"
  (a prediction of exactly 0 counts as negative). NaN when every label is 0.
- ``acc7`` / ``acc5``: predictions and labels clipped to [-3, 3] / [-2, 2], rounded to the nearest
  integer, exact match. Rounding is NumPy's (ties to even: 0.5 -> 0, 1.5 -> 2), as in the
  reference implementations.
- ``mae``: mean absolute error on the unclipped values; ``corr``: Pearson's r (NaN when
  predictions or labels are constant).

CH-SIMS (labels in [-1, 1]); predictions and labels are first clipped to [-1, 1]:
- ``acc2``: classes [-1, 0] and (0, 1]; ``f1``: support-weighted F1 of those two classes.
- ``acc3``: classes [-1, -0.1], (-0.1, 0.1], (0.1, 1].
- ``acc5``: edges -0.7, -0.1, 0.1, 0.7, every class closed on the right as above.
- ``mae`` and ``corr`` on the clipped values.
"""

from __future__ import annotations

import evaluate
import numpy as np

from .classification_scores import accuracy_score, pearson_correlation, weighted_f1_score

MSA_DATASETS = ("mosi", "mosei", "sims")
SIMS_CLASS_EDGES = {
    "acc2": (0.0,),
    "acc3": (-0.1, 0.1),
    "acc5": (-0.7, -0.1, 0.1, 0.7),
}


def _as_values(values, name: str) -> np.ndarray:
    """``values`` (list, NumPy array or torch tensor, ``[samples]`` or ``[samples, 1]``) as float64 ``[samples]``."""
    if hasattr(values, "detach"):  # a torch tensor, possibly on a GPU or requiring grad
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"msa metrics: {name} must have shape [samples] or [samples, 1], got {list(array.shape)}"
        )
    not_finite = np.flatnonzero(~np.isfinite(array))
    if not_finite.size:
        index = int(not_finite[0])
        raise ValueError(f"msa metrics: {name}[{index}] is {array[index]}; every value must be finite")
    return array


def _class_of(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Class index of each value; class ``i`` is ``(edges[i-1], edges[i]]`` (open below, closed above)."""
    return np.searchsorted(np.asarray(edges), values, side="left")


def _mosi_metrics(predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    label_nonnegative, prediction_nonnegative = labels >= 0, predictions >= 0
    metrics = {
        "acc2_has0": accuracy_score(label_nonnegative, prediction_nonnegative),
        "f1_has0": weighted_f1_score(label_nonnegative, prediction_nonnegative),
    }
    nonzero = labels != 0
    if nonzero.any():
        label_positive, prediction_positive = labels[nonzero] > 0, predictions[nonzero] > 0
        metrics["acc2_non0"] = accuracy_score(label_positive, prediction_positive)
        metrics["f1_non0"] = weighted_f1_score(label_positive, prediction_positive)
    else:
        metrics["acc2_non0"] = metrics["f1_non0"] = float("nan")
    for name, bound in (("acc5", 2.0), ("acc7", 3.0)):
        metrics[name] = accuracy_score(
            np.round(np.clip(labels, -bound, bound)), np.round(np.clip(predictions, -bound, bound))
        )
    metrics["mae"] = float(np.mean(np.abs(predictions - labels)))
    metrics["corr"] = pearson_correlation(predictions, labels)
    return metrics


def _sims_metrics(predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    predictions, labels = np.clip(predictions, -1.0, 1.0), np.clip(labels, -1.0, 1.0)
    metrics = {}
    for name, edges in SIMS_CLASS_EDGES.items():
        metrics[name] = accuracy_score(_class_of(labels, edges), _class_of(predictions, edges))
    metrics["f1"] = weighted_f1_score(_class_of(labels, (0.0,)), _class_of(predictions, (0.0,)))
    metrics["mae"] = float(np.mean(np.abs(predictions - labels)))
    metrics["corr"] = pearson_correlation(predictions, labels)
    return metrics


def compute_msa_metrics(predictions, labels, dataset: str = "mosi") -> dict[str, float]:
    """The metric set of ``dataset`` ("mosi", "mosei" or "sims"); see the module docstring.

    Args:
        predictions: ``[samples]`` (or ``[samples, 1]``) predicted sentiment values.
        labels: ``[samples]`` (or ``[samples, 1]``) true sentiment values.
        dataset: which metric set.

    Returns:
        mosi/mosei: ``acc2_has0, f1_has0, acc2_non0, f1_non0, acc5, acc7, mae, corr``;
        sims: ``acc2, acc3, acc5, f1, mae, corr``.
    """
    if dataset not in MSA_DATASETS:
        raise ValueError(f"msa metrics: unknown dataset={dataset!r}; choose one of {MSA_DATASETS}")
    predictions = _as_values(predictions, "predictions")
    labels = _as_values(labels, "labels")
    if predictions.shape != labels.shape:
        raise ValueError(f"msa metrics: got {predictions.size} predictions but {labels.size} labels")
    if predictions.size == 0:
        raise ValueError("msa metrics: no samples to score (predictions and labels are empty)")
    if dataset == "sims":
        return _sims_metrics(predictions, labels)
    return _mosi_metrics(predictions, labels)


class MSAMetrics(evaluate.Metric):
    """MSA metric set as an offline ``evaluate.Metric``: ``MSAMetrics(config_name="mosi"|"mosei"|"sims")``.

    ``compute(predictions=[...], references=[...])`` with references the true sentiment values;
    the default config is "mosi".
    """

    def _info(self) -> evaluate.MetricInfo:
        import datasets

        if self.config_name not in ("default", *MSA_DATASETS):
            raise ValueError(
                f"MSAMetrics: unknown config_name={self.config_name!r}; choose one of {MSA_DATASETS}"
            )
        return evaluate.MetricInfo(
            description="Multimodal sentiment analysis metrics: binary/multi-class accuracy, weighted F1, MAE, Corr.",
            citation="",
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}
            ),
        )

    def _compute(self, predictions, references):
        dataset = "mosi" if self.config_name == "default" else self.config_name
        return compute_msa_metrics(predictions, references, dataset=dataset)
