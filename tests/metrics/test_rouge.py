"""ROUGE-L F: hand-computed cases and an exact cross-check against Google's rouge-score."""

import random

import pytest
from rouge_score import rouge_scorer  # a test dependency: missing means a broken install, not a skip

from hf_graph4mm.metrics import RougeL, rouge_l
from hf_graph4mm.metrics.rouge import longest_common_subsequence_length, rouge_tokenize


def rouge_score_mean_f(predictions, references, use_stemmer):
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=use_stemmer)
    scores = [
        scorer.score_multi(refs, prediction)["rougeL"].fmeasure
        for prediction, refs in zip(predictions, references)
    ]
    return sum(scores) / len(scores)


def test_hand_computed_mean_over_samples_with_best_reference():
    # Sample 0: LCS "the cat on the mat" = 5 of 6 tokens each way, F = 5/6.
    # Sample 1: tokens [a, dog]; vs [a, cat] F = 1/2, vs [the, dog, runs] P = 1/2, R = 1/3, F = 0.4: best 1/2.
    result = rouge_l(
        ["the cat sat on the mat", "A dog!"], ["the cat is on the mat", ["a cat", "the dog runs"]]
    )
    assert result["rougeL_per_sample"] == pytest.approx([5 / 6, 1 / 2])
    assert result["rougeL"] == pytest.approx(2 / 3)


def test_tokenisation_and_stemming():
    assert rouge_tokenize("Héllo, WORLD-42 it's") == ["h", "llo", "world", "42", "it", "s"]
    assert rouge_l(["running cats"], ["run cat"])["rougeL"] == 0.0
    # "running" -> "run", "cats" -> "cat"; "run" and "cat" are too short to be stemmed.
    assert rouge_l(["running cats"], ["run cat"], use_stemmer=True)["rougeL"] == pytest.approx(1.0)
    # Porter would turn "was" into "wa", but tokens of 3 characters or fewer are left alone.
    assert rouge_l(["was"], ["wa"], use_stemmer=True)["rougeL"] == 0.0


def test_longest_common_subsequence_is_symmetric_and_not_a_substring():
    assert longest_common_subsequence_length(list("abcbdab"), list("bdcaba")) == 4
    assert longest_common_subsequence_length(list("bdcaba"), list("abcbdab")) == 4
    assert longest_common_subsequence_length([], list("ab")) == 0


def test_empty_texts_score_zero():
    assert rouge_l(["", "..."], ["a b", "a"])["rougeL"] == 0.0


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_matches_rouge_score(use_stemmer):
    rng = random.Random(0)
    vocabulary = [
        "The",
        "cats",
        "were",
        "running",
        "quickly;",
        "a",
        "dog's",
        "bone,",
        "under",
        "the",
        "big",
        "tables!",
        "42",
        "was",
        "has",
        "Running",
    ]
    predictions = [" ".join(rng.choices(vocabulary, k=rng.randint(0, 15))) for _ in range(40)]
    references = [
        [" ".join(rng.choices(vocabulary, k=rng.randint(1, 15))) for _ in range(rng.randint(1, 3))]
        for _ in range(40)
    ]
    ours = rouge_l(predictions, references, use_stemmer=use_stemmer)["rougeL"]
    theirs = rouge_score_mean_f(predictions, references, use_stemmer)
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert 0.0 < ours < 1.0


def test_evaluate_metric_matches_function():
    predictions = ["the cat sat on the mat", "A dog!"]
    references = [["the cat is on the mat"], ["a cat", "the dog runs"]]
    result = RougeL(keep_in_memory=True).compute(
        predictions=predictions, references=references, use_stemmer=True
    )
    assert result == {"rougeL": pytest.approx(rouge_l(predictions, references, use_stemmer=True)["rougeL"])}


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="rougeL: got 2 predictions but 1 references"):
        rouge_l(["a", "b"], ["a"])
