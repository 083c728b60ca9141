"""ROUGE-L F-measure (Lin, 2004), averaged over samples.

Per sample: with ``lcs`` the length of the longest common subsequence of the prediction's and
the reference's tokens, ``P = lcs / len(prediction)``, ``R = lcs / len(reference)``,
``F = 2PR / (P + R)`` (0 when either text has no tokens). With several references a sample
scores its best reference by F. The corpus score is the mean of the per-sample F.

Tokenisation (the one of the original ROUGE script, as in Google's ``rouge-score``): lowercase,
every run of characters other than ``a-z0-9`` becomes a separator (so non-ASCII letters are
dropped), and with ``use_stemmer=True`` tokens longer than 3 characters go through NLTK's Porter
stemmer. This reproduces ``rouge_score.rouge_scorer.RougeScorer(["rougeL"])`` with
``score_multi`` exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import evaluate

from .text_inputs import generation_features, pair_predictions_with_references

_SEPARATOR = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=1)
def _porter_stemmer():
    try:
        from nltk.stem.porter import PorterStemmer
    except ImportError as error:  # nltk is optional: only stemming needs it
        raise ImportError("rouge_l(use_stemmer=True) needs nltk: pip install nltk") from error
    return PorterStemmer()


def rouge_tokenize(text: str, use_stemmer: bool = False) -> list[str]:
    """Lowercased ASCII alphanumeric tokens of ``text``; Porter-stemmed when longer than 3 characters."""
    tokens = [token for token in _SEPARATOR.split(text.lower()) if token]
    if use_stemmer:
        stemmer = _porter_stemmer()
        tokens = [stemmer.stem(token) if len(token) > 3 else token for token in tokens]
    return tokens


def longest_common_subsequence_length(first: Sequence[str], second: Sequence[str]) -> int:
    """Length of the longest common subsequence, by dynamic programming over one row at a time."""
    if len(second) > len(first):
        first, second = second, first
    previous = [0] * (len(second) + 1)
    for token in first:
        current = [0]
        for column, other in enumerate(second):
            current.append(
                previous[column] + 1 if token == other else max(previous[column + 1], current[column])
            )
        previous = current
    return previous[-1]


def lcs_f_measure(prediction_tokens: Sequence[str], reference_tokens: Sequence[str]) -> float:
    """ROUGE-L F of one prediction against one reference (0 when either is empty)."""
    if not prediction_tokens or not reference_tokens:
        return 0.0
    lcs = longest_common_subsequence_length(prediction_tokens, reference_tokens)
    if lcs == 0:
        return 0.0
    precision = lcs / len(prediction_tokens)
    recall = lcs / len(reference_tokens)
    return 2 * precision * recall / (precision + recall)


def rouge_l(
    predictions: Sequence[str], references: Sequence[str | Sequence[str]], use_stemmer: bool = False
) -> dict:
    """Mean ROUGE-L F over samples.

    Args:
        predictions: ``[samples]`` generated texts.
        references: ``[samples]`` a reference or a list of references per sample (best one counts).
        use_stemmer: Porter-stem tokens longer than 3 characters (needs nltk).

    Returns:
        ``{"rougeL": mean F, "rougeL_per_sample": [samples] F}``.
    """
    predictions, reference_lists = pair_predictions_with_references(predictions, references, "rougeL")
    per_sample = []
    for prediction, refs in zip(predictions, reference_lists):
        prediction_tokens = rouge_tokenize(prediction, use_stemmer)
        per_sample.append(
            max(lcs_f_measure(prediction_tokens, rouge_tokenize(ref, use_stemmer)) for ref in refs)
        )
    return {"rougeL": sum(per_sample) / len(per_sample), "rougeL_per_sample": per_sample}


class RougeL(evaluate.Metric):
    """ROUGE-L F averaged over samples, as an offline ``evaluate.Metric``; ``compute(..., use_stemmer=)``."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="ROUGE-L F-measure (longest common subsequence), mean over samples.",
            citation="Lin, ROUGE: A Package for Automatic Evaluation of Summaries, ACL Workshop 2004.",
            features=generation_features(),
        )

    def _compute(self, predictions, references, use_stemmer: bool = False):
        return {"rougeL": rouge_l(predictions, references, use_stemmer=use_stemmer)["rougeL"]}
