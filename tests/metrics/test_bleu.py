"""Corpus BLEU: hand-computed cases and an exact cross-check against sacrebleu."""

import math
import random

import pytest
import sacrebleu  # a test dependency: missing is an error, not a skip

from hf_graph4mm.metrics import CorpusBleu, corpus_bleu


def random_corpus(seed: int, samples: int, references_per_sample: int):
    """Predictions that share many n-grams with their references, so BLEU-4 is rarely 0."""
    rng = random.Random(seed)
    vocabulary = ["the", "a", "cat", "dog", "sat", "ran", "on", "under", "mat", "rug", "red", "big"]
    predictions, references = [], []
    for _ in range(samples):
        base = [rng.choice(vocabulary) for _ in range(rng.randint(4, 12))]
        refs = []
        for _ in range(references_per_sample):
            ref = list(base)
            for _ in range(rng.randint(0, 3)):  # a few edits per reference
                ref[rng.randrange(len(ref))] = rng.choice(vocabulary)
            refs.append(" ".join(ref[: rng.randint(3, len(ref))] if rng.random() < 0.3 else ref))
        predictions.append(" ".join(base if rng.random() < 0.5 else base + [rng.choice(vocabulary)]))
        references.append(refs)
    return predictions, references


def sacrebleu_score(predictions, references, **kwargs) -> float:
    reference_streams = [list(stream) for stream in zip(*references)]
    return sacrebleu.corpus_bleu(predictions, reference_streams, **kwargs).score / 100


def test_hand_computed_corpus_aggregates_counts_before_dividing():
    # Sample 1 alone has no 4-gram match (BLEU 0); the corpus does. Counts, by order:
    # matches 5+4, 3+3, 1+2, 0+1 over totals 6+4, 5+3, 4+2, 3+1; c = 10, r = 6 + 6.
    predictions = ["the cat sat on the mat", "a b c d"]
    references = ["the cat is on the mat", "a b c d e f"]
    result = corpus_bleu(predictions, references)
    expected_precisions = [9 / 10, 6 / 8, 3 / 6, 1 / 4]
    assert result["precisions"] == pytest.approx(expected_precisions)
    assert result["brevity_penalty"] == pytest.approx(math.exp(1 - 12 / 10))
    assert result["bleu"] == pytest.approx(math.exp(-0.2) * (27 / 320) ** 0.25)
    assert corpus_bleu(predictions[:1], references[:1])["bleu"] == 0.0


def test_exp_smoothing_hand_computed():
    # No 4-gram matches: p4 becomes 1 / (2 * 3); equal lengths, so BP = 1.
    result = corpus_bleu(["the cat sat on the mat"], ["the cat is on the mat"], smooth="exp")
    assert result["bleu"] == pytest.approx((5 / 6 * 3 / 5 * 1 / 4 * 1 / 6) ** 0.25)


def test_clipping_and_closest_reference_length_ties_go_to_the_shorter():
    # "the" counts at most as often as in one reference.
    assert corpus_bleu(["the the the"], ["the cat"], max_order=1)["precisions"] == [pytest.approx(1 / 3)]
    # Lengths 3 and 5 are both 1 away from 4: r = 3, so no brevity penalty (r = 5 would give 0.78).
    result = corpus_bleu(["a b c d"], [["a b c", "a b c d e"]])
    assert result["reference_length"] == 3
    assert result["bleu"] == pytest.approx(1.0)


def test_empty_prediction_scores_zero():
    assert corpus_bleu([""], ["a b c d"])["bleu"] == 0.0


@pytest.mark.parametrize("smooth", ["none", "exp"])
@pytest.mark.parametrize("references_per_sample", [1, 3])
def test_matches_sacrebleu_with_whitespace_tokenisation(smooth, references_per_sample):
    for seed in range(5):
        predictions, references = random_corpus(seed, samples=12, references_per_sample=references_per_sample)
        ours = corpus_bleu(predictions, references, smooth=smooth)["bleu"]
        theirs = sacrebleu_score(predictions, references, tokenize="none", smooth_method=smooth)
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)
        assert ours > 0.0  # the corpora are built to have 4-gram matches


def test_matches_sacrebleu_13a_tokenizer_and_lowercase():
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    tokenize_13a = Tokenizer13a()
    predictions = ["The cat, it sat on the mat.", "A dog's bone (big) was here!"]
    references = [["the cat sat on the mat.", "The cat; sat on a mat"], ["A dog's bone was here!", "a bone"]]
    ours = corpus_bleu(
        predictions, references, lowercase=True, tokenizer=lambda text: tokenize_13a(text).split()
    )
    theirs = sacrebleu_score(predictions, references, lowercase=True, smooth_method="none")
    assert ours["bleu"] == pytest.approx(theirs, rel=1e-12)
    assert ours["bleu"] > 0.0


def test_evaluate_metric_batches_give_the_corpus_score():
    predictions, references = random_corpus(7, samples=6, references_per_sample=2)
    metric = CorpusBleu(keep_in_memory=True)
    metric.add_batch(predictions=predictions[:4], references=references[:4])
    for prediction, refs in zip(predictions[4:], references[4:]):
        metric.add(prediction=prediction, reference=refs)
    assert metric.compute()["bleu"] == pytest.approx(corpus_bleu(predictions, references)["bleu"])
    single = CorpusBleu(keep_in_memory=True).compute(predictions=["a b c d"], references=["a b c d"])
    assert single["bleu"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("predictions", "references", "message"),
    [
        (["a"], ["a", "b"], "1 predictions but 2 references"),
        ([], [], "no samples"),
        (["a", "b"], ["a", []], "sample 1 has an empty list"),
        (["a", 3], ["a", "b"], "prediction 1 is int"),
        (["a"], [["a", None]], "reference 1 of sample 0"),
        ("a b", ["a b"], "single string"),
    ],
)
def test_bad_input_is_named(predictions, references, message):
    with pytest.raises(ValueError, match=message):
        corpus_bleu(predictions, references)


def test_bad_options():
    with pytest.raises(ValueError, match="smooth='add-k'"):
        corpus_bleu(["a"], ["a"], smooth="add-k")
    with pytest.raises(ValueError, match="max_order"):
        corpus_bleu(["a"], ["a"], max_order=0)
