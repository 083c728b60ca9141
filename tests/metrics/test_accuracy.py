"""Zero-shot classification accuracy: normalised exact match, hand-computed."""

import pytest

from hf_graph4mm.metrics import ZeroShotAccuracy, zero_shot_accuracy
from hf_graph4mm.metrics.accuracy import normalize_label


def test_normalisation_keeps_words_but_not_case_spacing_or_surrounding_punctuation():
    assert normalize_label("  Summer   Dresses. ") == "summer dresses"
    assert normalize_label("T-shirt!") == "t-shirt"


def test_hand_computed_accuracy():
    predictions = ["Dresses.", "shoes", "bags and more", "HATS", "t shirt"]
    references = ["dresses", "Shoes", "bags", "hats", "t-shirt"]
    # correct: 0, 1, 3; "bags and more" is not "bags" (no substring credit); "t shirt" != "t-shirt".
    assert zero_shot_accuracy(predictions, references) == {"accuracy": pytest.approx(3 / 5)}
    assert zero_shot_accuracy(predictions, references, normalize=False) == {"accuracy": 0.0}


def test_class_ids():
    assert zero_shot_accuracy([0, 2, 1, 1], [0, 1, 1, 1])["accuracy"] == pytest.approx(3 / 4)


def test_evaluate_metric_with_names_and_ids():
    metric = ZeroShotAccuracy(keep_in_memory=True)
    assert metric.compute(predictions=["Hats", "bags"], references=["hats", "shoes"])["accuracy"] == 0.5
    assert metric.compute(predictions=[3, 1, 2], references=[3, 1, 1])["accuracy"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("predictions", "references", "message"),
    [
        (["a"], ["a", "b"], "1 predictions but 2 references"),
        ([], [], "no samples"),
        (["a", 1], ["a", "b"], "sample 1 compares a int prediction with a str reference"),
    ],
)
def test_bad_input_is_named(predictions, references, message):
    with pytest.raises(ValueError, match=message):
        zero_shot_accuracy(predictions, references)
