"""MSA metric sets: hand-computed MOSI and CH-SIMS cases, scipy / scikit-learn cross-checks, bad input."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr

from hf_graph4mm.metrics import MSAMetrics, compute_msa_metrics
from hf_graph4mm.metrics.classification_scores import weighted_f1_score

# A label of exactly 0 (index 1), a prediction of exactly 0 (index 5) and predictions outside
# [-3, 3] / [-2, 2] (index 0): Has0 and Non0 disagree here.
MOSI_LABELS = [2.4, 0.0, -1.2, 0.6, -3.0, 1.0]
MOSI_PREDICTIONS = [3.7, -0.3, -0.4, -0.2, -2.6, 0.0]

SIMS_LABELS = [-1.0, -0.6, 0.0, 0.1, 0.4, 0.8]
SIMS_PREDICTIONS = [-1.4, -0.8, 0.05, 0.1, 0.75, 2.0]


def test_mosi_hand_computed():
    metrics = compute_msa_metrics(MOSI_PREDICTIONS, MOSI_LABELS, dataset="mosi")
    assert set(metrics) == {"acc2_has0", "f1_has0", "acc2_non0", "f1_non0", "acc5", "acc7", "mae", "corr"}
    # Has0: label >= 0 [T T F T F T], prediction >= 0 [T F F F F T].
    assert metrics["acc2_has0"] == pytest.approx(4 / 6)
    # Class T: TP 2, FN 2 -> F1 2/3 (support 4); class F: TP 2, FP 2 -> F1 2/3 (support 2).
    assert metrics["f1_has0"] == pytest.approx(2 / 3)
    # Non0 drops index 1: label > 0 [T F T F T], prediction > 0 [T F F F F] (0.0 is not positive).
    assert metrics["acc2_non0"] == pytest.approx(3 / 5)
    # Class T: TP 1, FN 2 -> 1/2 (support 3); class F: TP 2, FP 2 -> 2/3 (support 2).
    assert metrics["f1_non0"] == pytest.approx((3 * 1 / 2 + 2 * 2 / 3) / 5)
    # Acc-7: rounded clipped predictions [3 0 0 0 -3 0] vs labels [2 0 -1 1 -3 1].
    assert metrics["acc7"] == pytest.approx(2 / 6)
    # Acc-5: clipping to [-2, 2] turns 3.7 vs 2.4 into a match: [2 0 0 0 -2 0] vs [2 0 -1 1 -2 1].
    assert metrics["acc5"] == pytest.approx(3 / 6)
    # MAE on unclipped values: 1.3 + 0.3 + 0.8 + 0.8 + 0.4 + 1.0.
    assert metrics["mae"] == pytest.approx(4.6 / 6)
    assert metrics["corr"] == pytest.approx(pearsonr(MOSI_PREDICTIONS, MOSI_LABELS)[0], rel=1e-12)


def test_mosei_uses_the_mosi_definitions():
    assert compute_msa_metrics(MOSI_PREDICTIONS, MOSI_LABELS, "mosei") == compute_msa_metrics(
        MOSI_PREDICTIONS, MOSI_LABELS, "mosi"
    )


def test_rounding_ties_go_to_even_as_in_the_reference_code():
    metrics = compute_msa_metrics([0.5, 1.5, -0.5, 2.5], [0.0, 2.0, 0.0, 2.0])
    assert metrics["acc7"] == 1.0


def test_sims_hand_computed():
    metrics = compute_msa_metrics(SIMS_PREDICTIONS, SIMS_LABELS, dataset="sims")
    assert set(metrics) == {"acc2", "acc3", "acc5", "f1", "mae", "corr"}
    # Clipped predictions [-1 -0.8 0.05 0.1 0.75 1]; Acc-2 classes [0 0 0 1 1 1] vs [0 0 1 1 1 1].
    assert metrics["acc2"] == pytest.approx(5 / 6)
    # Acc-3 (edges -0.1, 0.1 closed on the right): [0 0 1 1 2 2] both.
    assert metrics["acc3"] == 1.0
    # Acc-5 (edges -0.7 -0.1 0.1 0.7): labels [0 1 2 2 3 4], predictions [0 0 2 2 4 4].
    assert metrics["acc5"] == pytest.approx(4 / 6)
    # Class 0: TP 2, FN 1 -> 4/5; class 1: TP 3, FP 1 -> 6/7; supports 3 and 3.
    assert metrics["f1"] == pytest.approx(29 / 35)
    assert metrics["mae"] == pytest.approx((0 + 0.2 + 0.05 + 0 + 0.35 + 0.2) / 6)
    clipped = np.clip(SIMS_PREDICTIONS, -1, 1)
    assert metrics["corr"] == pytest.approx(pearsonr(clipped, SIMS_LABELS)[0], rel=1e-12)


def test_undefined_values_are_nan():
    metrics = compute_msa_metrics([0.3, -0.2, 0.3], [0.0, 0.0, 0.0])
    assert math.isnan(metrics["acc2_non0"]) and math.isnan(metrics["f1_non0"])
    assert math.isnan(metrics["corr"])  # constant labels
    assert metrics["acc2_has0"] == pytest.approx(2 / 3)


def test_torch_tensors_with_a_trailing_axis():
    predictions = torch.tensor(MOSI_PREDICTIONS, requires_grad=True).unsqueeze(1)
    labels = torch.tensor(MOSI_LABELS, dtype=torch.float64).unsqueeze(1)
    metrics = compute_msa_metrics(predictions, labels)
    # float32 predictions: compare loosely with the float64 reference.
    assert metrics == pytest.approx(compute_msa_metrics(MOSI_PREDICTIONS, MOSI_LABELS), rel=1e-6)


def test_against_scikit_learn():
    import sklearn.metrics as sklearn_metrics  # a test dependency: missing is an error, not a skip
    rng = np.random.default_rng(0)
    labels = np.round(rng.uniform(-3, 3, size=200) * 3) / 3
    labels[:20] = 0.0
    predictions = rng.normal(0.5 * labels, 1.2)
    metrics = compute_msa_metrics(predictions, labels, "mosi")
    assert metrics["f1_has0"] == pytest.approx(
        sklearn_metrics.f1_score(labels >= 0, predictions >= 0, average="weighted"), rel=1e-12
    )
    nonzero = labels != 0
    assert metrics["acc2_non0"] == pytest.approx(
        sklearn_metrics.accuracy_score(labels[nonzero] > 0, predictions[nonzero] > 0)
    )
    assert metrics["f1_non0"] == pytest.approx(
        sklearn_metrics.f1_score(labels[nonzero] > 0, predictions[nonzero] > 0, average="weighted"), rel=1e-12
    )
    assert metrics["mae"] == pytest.approx(sklearn_metrics.mean_absolute_error(labels, predictions))
    # Multi-class weighted F1 with a class that is only ever predicted (weight 0) and one never predicted.
    true_classes, predicted_classes = np.array([0, 0, 1, 1, 2, 2, 2]), np.array([0, 3, 1, 0, 0, 0, 1])
    assert weighted_f1_score(true_classes, predicted_classes) == pytest.approx(
        sklearn_metrics.f1_score(true_classes, predicted_classes, average="weighted", zero_division=0)
    )


def test_evaluate_metric_per_dataset():
    sims = MSAMetrics(config_name="sims", keep_in_memory=True)
    sims.add_batch(predictions=SIMS_PREDICTIONS[:3], references=SIMS_LABELS[:3])
    sims.add_batch(predictions=SIMS_PREDICTIONS[3:], references=SIMS_LABELS[3:])
    assert sims.compute() == pytest.approx(compute_msa_metrics(SIMS_PREDICTIONS, SIMS_LABELS, "sims"))
    mosi = MSAMetrics(keep_in_memory=True).compute(predictions=MOSI_PREDICTIONS, references=MOSI_LABELS)
    assert mosi == pytest.approx(compute_msa_metrics(MOSI_PREDICTIONS, MOSI_LABELS, "mosi"))
    with pytest.raises(ValueError, match="config_name='iemocap'"):
        MSAMetrics(config_name="iemocap")


@pytest.mark.parametrize(
    ("predictions", "labels", "dataset", "message"),
    [
        ([0.1], [0.1, 0.2], "mosi", "1 predictions but 2 labels"),
        ([], [], "mosi", "no samples"),
        ([0.1, float("nan")], [0.1, 0.2], "mosi", r"predictions\[1\] is nan"),
        ([0.1, 0.2], [0.1, float("inf")], "sims", r"labels\[1\] is inf"),
        ([[0.1, 0.2]], [[0.1, 0.2]], "mosi", r"shape \[samples\] or \[samples, 1\], got \[1, 2\]"),
        ([0.1], [0.1], "simms", "unknown dataset='simms'"),
    ],
)
def test_bad_input_is_named(predictions, labels, dataset, message):
    with pytest.raises(ValueError, match=message):
        compute_msa_metrics(predictions, labels, dataset=dataset)
