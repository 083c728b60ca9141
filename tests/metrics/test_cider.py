"""CIDEr-D and CIDEr: hand-computed cases and an exact cross-check against pycocoevalcap's Cider."""

import math
import random

import pycocoevalcap.cider.cider as coco_cider  # a test dependency: missing is an error, not a skip
import pytest

from hf_graph4mm.metrics import Cider, cider


def pycocoevalcap_scores(predictions, references, sigma=6.0):
    scorer = coco_cider.Cider(sigma=sigma)
    mean, per_sample = scorer.compute_score(
        {index: list(refs) for index, refs in enumerate(references)},
        {index: [prediction] for index, prediction in enumerate(predictions)},
    )
    return float(mean), [float(score) for score in per_sample]


def test_hand_computed_unigram_case():
    # N = 2 samples, idf = ln 2 - ln max(1, df): a, b, d -> ln 2 (b appears in no reference), c -> 0.
    # Sample 0: g(c) = (a: ln2, b: ln2), g(s) = (a: ln2, c: 0); cosine = 1/sqrt(2).
    # Sample 1: g("c") = 0, similar to nothing.
    predictions, references = ["a b", "c"], ["a c", "c d"]
    cider_d = cider(predictions, references, max_order=1)
    assert cider_d["cider_per_sample"] == pytest.approx([10 / math.sqrt(2), 0.0])
    assert cider_d["cider"] == pytest.approx(5 / math.sqrt(2))
    plain = cider(predictions, references, variant="cider", max_order=1)
    assert plain["cider"] == pytest.approx(1 / (2 * math.sqrt(2)))


def test_clipping_stops_repetition_from_paying():
    # g("a a") = 2 ln2 * e_a, g("a") = ln2 * e_a: cosine 1, but the clipped dot product is ln2^2,
    # so CIDEr-D gives 10 * ln2^2 / (2 ln2 * ln2) = 5.
    predictions, references = ["a a", "x"], ["a", "y"]
    assert cider(predictions, references, max_order=1)["cider_per_sample"][0] == pytest.approx(5.0)
    assert cider(predictions, references, variant="cider", max_order=1)["cider_per_sample"][
        0
    ] == pytest.approx(1.0)


def test_gaussian_length_penalty_uses_the_bigram_count_gap():
    predictions = ["a b c d", "q r s"]
    references = ["a b c d e f g", "t u"]
    with_penalty = cider(predictions, references, sigma=6.0)["cider_per_sample"][0]
    without_penalty = cider(predictions, references, sigma=1e9)["cider_per_sample"][0]
    # 3 bigrams against 6: exp(-(3 - 6)^2 / (2 * 6^2)).
    assert with_penalty / without_penalty == pytest.approx(math.exp(-9 / 72))
    assert with_penalty > 0.0


def random_captions(seed: int, samples: int):
    rng = random.Random(seed)
    vocabulary = ["a", "man", "woman", "dog", "riding", "on", "the", "street", "red", "bike", "with", "hat"]

    def caption(shortest: int) -> str:
        return " ".join(rng.choices(vocabulary, k=rng.randint(shortest, 10)))

    predictions = [caption(0) for _ in range(samples)]  # includes empty and one-word captions
    references = [[caption(1) for _ in range(rng.randint(1, 4))] for _ in range(samples)]
    return predictions, references


@pytest.mark.parametrize("seed", range(4))
def test_cider_d_matches_pycocoevalcap(seed):
    predictions, references = random_captions(seed, samples=25)
    ours = cider(predictions, references)
    theirs_mean, theirs_per_sample = pycocoevalcap_scores(predictions, references)
    assert ours["cider_per_sample"] == pytest.approx(theirs_per_sample, rel=1e-9, abs=1e-12)
    assert ours["cider"] == pytest.approx(theirs_mean, rel=1e-9)
    assert ours["cider"] > 0.0


def test_cider_d_matches_pycocoevalcap_other_sigma_and_single_sample():
    predictions, references = random_captions(11, samples=8)
    assert cider(predictions, references, sigma=2.0)["cider"] == pytest.approx(
        pycocoevalcap_scores(predictions, references, sigma=2.0)[0], rel=1e-9
    )
    # With one sample every reference n-gram has idf log(1) - log(1) = 0.
    assert cider(["a b"], [["a b"]])["cider"] == pycocoevalcap_scores(["a b"], [["a b"]])[0] == 0.0


def test_original_cider_equals_pycocoevalcap_where_clipping_and_penalty_do_nothing():
    # Each prediction is a span of every one of its references, so no prediction weight exceeds
    # a reference weight (clipping is inactive); a huge sigma switches the length penalty off.
    # There CIDEr-D = 10 x CIDEr.
    rng = random.Random(3)
    vocabulary = ["a", "man", "woman", "dog", "riding", "on", "the", "street", "red", "bike"]
    predictions, references = [], []
    for _ in range(20):
        span = rng.choices(vocabulary, k=rng.randint(1, 6))
        predictions.append(" ".join(span))
        references.append(
            [
                " ".join(
                    rng.choices(vocabulary, k=rng.randint(0, 3))
                    + span
                    + rng.choices(vocabulary, k=rng.randint(0, 3))
                )
                for _ in range(rng.randint(1, 3))
            ]
        )
    ours = cider(predictions, references, variant="cider")["cider"]
    theirs = pycocoevalcap_scores(predictions, references, sigma=1e12)[0] / 10
    assert ours == pytest.approx(theirs, rel=1e-9)
    assert ours > 0.0


def test_evaluate_metric_variants():
    predictions, references = random_captions(5, samples=6)
    assert Cider(keep_in_memory=True).compute(predictions=predictions, references=references)[
        "cider"
    ] == pytest.approx(cider(predictions, references)["cider"])
    plain = Cider(config_name="cider", keep_in_memory=True)
    assert plain.compute(predictions=predictions, references=references)["cider"] == pytest.approx(
        cider(predictions, references, variant="cider")["cider"]
    )
    with pytest.raises(ValueError, match="config_name='cider-r'"):
        Cider(config_name="cider-r")


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="variant='ciderd'"):
        cider(["a"], ["a"], variant="ciderd")
    with pytest.raises(ValueError, match="sigma"):
        cider(["a"], ["a"], sigma=0.0)
    with pytest.raises(ValueError, match="cider: got 1 predictions but 2 references"):
        cider(["a"], ["a", "b"])
