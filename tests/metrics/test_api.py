"""The package-level metric API: load_metric and compute_generation_metrics."""

import pycocoevalcap.cider.cider as coco_cider  # test dependencies: missing is an error, not a skip
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from hf_graph4mm.metrics import (
    Cider,
    CorpusBleu,
    MSAMetrics,
    RougeL,
    ZeroShotAccuracy,
    compute_generation_metrics,
    load_metric,
    normalize_text,
)

PREDICTIONS = ["a man riding a red bike on the street", "a dog with a hat", "the woman on the street"]
REFERENCES = [
    ["a man rides a red bike on the street", "a man on a bike"],
    ["a dog wearing a red hat", "a small dog with a hat"],
    ["a woman walking on the street", "the woman is on the street"],
]


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("bleu", CorpusBleu),
        ("rouge", RougeL),
        ("rougeL", RougeL),
        ("cider", Cider),
        ("accuracy", ZeroShotAccuracy),
        ("msa", MSAMetrics),
    ],
)
def test_load_metric_gives_the_class(name, cls):
    assert type(load_metric(name, keep_in_memory=True)) is cls


def test_load_metric_passes_the_config_and_rejects_unknown_names():
    assert load_metric("msa", config_name="sims").config_name == "sims"
    with pytest.raises(ValueError, match="unknown metric 'meteor'"):
        load_metric("meteor")


def test_generation_metrics_agree_with_the_reference_libraries():
    metrics = compute_generation_metrics(PREDICTIONS, REFERENCES)
    assert set(metrics) == {"bleu4", "rougeL", "cider"}
    streams = [list(stream) for stream in zip(*REFERENCES)]
    expected_bleu = (
        sacrebleu.corpus_bleu(PREDICTIONS, streams, tokenize="none", smooth_method="none").score / 100
    )
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    expected_rouge = sum(
        scorer.score_multi(refs, prediction)["rougeL"].fmeasure
        for prediction, refs in zip(PREDICTIONS, REFERENCES)
    ) / len(PREDICTIONS)
    expected_cider, _ = coco_cider.Cider().compute_score(
        dict(enumerate(REFERENCES)), {index: [prediction] for index, prediction in enumerate(PREDICTIONS)}
    )
    assert metrics["bleu4"] == pytest.approx(expected_bleu, rel=1e-12)
    assert metrics["rougeL"] == pytest.approx(expected_rouge, rel=1e-12)
    assert metrics["cider"] == pytest.approx(float(expected_cider), rel=1e-9)
    assert min(metrics.values()) > 0.0


def test_generation_metrics_reject_mismatched_input():
    with pytest.raises(ValueError, match="3 predictions but 2 references"):
        compute_generation_metrics(PREDICTIONS, REFERENCES[:2])


def test_normalize_text_lowercases_and_drops_punctuation():
    assert normalize_text("A dog's bone (big)!  On the STREET...") == "a dog's bone big on the street"
    assert normalize_text("--") == ""


def test_generation_metrics_normalise_case_and_punctuation_before_bleu_and_cider():
    shouted = [prediction.capitalize() + "." for prediction in PREDICTIONS]
    normalised = compute_generation_metrics(shouted, REFERENCES)
    assert normalised == pytest.approx(compute_generation_metrics(PREDICTIONS, REFERENCES), rel=1e-12)
    raw = compute_generation_metrics(shouted, REFERENCES, normalize=False)
    # Whitespace tokens "A" and "street." no longer match; ROUGE-L tokenises on its own.
    assert raw["bleu4"] < normalised["bleu4"] and raw["cider"] < normalised["cider"]
    assert raw["rougeL"] == pytest.approx(normalised["rougeL"])
