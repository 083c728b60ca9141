"""Corpus-level BLEU (Papineni et al., 2002), BLEU-4 by default.

Definition (all counts summed over the whole corpus before any division, which is what makes it
*corpus* BLEU rather than an average of sentence scores):

- ``p_n`` = clipped n-gram matches / n-grams in the predictions, for n = 1..max_order; a
  prediction's n-gram count is clipped by the largest count of that n-gram in any one reference.
- brevity penalty ``BP = 1`` if ``c > r`` else ``exp(1 - r / c)`` (``0`` when ``c = 0``), with
  ``c`` the total prediction length and ``r`` the sum over samples of the reference length
  closest to the prediction's length (ties go to the shorter reference).
- ``BLEU = BP * exp(mean_n log p_n)``, on a 0-1 scale (sacrebleu reports 0-100).

With ``smooth="none"`` (the default, as in the papers' tables) any ``p_n = 0`` gives BLEU 0.
``smooth="exp"`` is the NIST/mteval "exp" smoothing: the k-th order with no match gets
``p_n = 1 / (2**k * total_n)``.

Tokenisation: by default a text is split on whitespace and nothing else (no punctuation
splitting), optionally lowercased first. Pre-tokenise consistently, or pass ``tokenizer=`` (a
``str -> list[str]`` callable). This matches ``sacrebleu.corpus_bleu(..., tokenize="none")``
exactly; with ``tokenizer=lambda s: Tokenizer13a()(s).split()`` it matches sacrebleu's default
"13a" tokenisation.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

import evaluate

from .ngrams import ngram_counts
from .text_inputs import generation_features, pair_predictions_with_references

SMOOTHING_METHODS = ("none", "exp")


def closest_reference_length(prediction_length: int, reference_lengths: Sequence[int]) -> int:
    """The reference length nearest the prediction's; on a tie the shorter one (the usual convention)."""
    return min(reference_lengths, key=lambda length: (abs(length - prediction_length), length))


def whitespace_tokenize(text: str) -> list[str]:
    return text.split()


def corpus_bleu(
    predictions: Sequence[str],
    references: Sequence[str | Sequence[str]],
    max_order: int = 4,
    smooth: str = "none",
    lowercase: bool = False,
    tokenizer: Callable[[str], list[str]] | None = None,
) -> dict:
    """Corpus BLEU of ``predictions`` against one or several references per sample.

    Args:
        predictions: ``[samples]`` generated texts.
        references: ``[samples]`` a reference or a list of references per sample.
        max_order: highest n-gram order (4 for BLEU-4).
        smooth: ``"none"`` or ``"exp"`` (see the module docstring).
        lowercase: lowercase predictions and references before tokenising.
        tokenizer: ``str -> list[str]``; whitespace splitting when None.

    Returns:
        ``{"bleu", "precisions" ([max_order]), "brevity_penalty", "length_ratio",
        "prediction_length", "reference_length"}``; scores on a 0-1 scale.
    """
    predictions, reference_lists = pair_predictions_with_references(predictions, references, "bleu")
    if max_order < 1:
        raise ValueError(f"bleu: max_order must be at least 1, got {max_order}")
    if smooth not in SMOOTHING_METHODS:
        raise ValueError(f"bleu: unknown smooth={smooth!r}; choose one of {SMOOTHING_METHODS}")
    tokenize = tokenizer or whitespace_tokenize

    def tokens_of(text: str) -> list[str]:
        return tokenize(text.lower() if lowercase else text)

    matches = [0] * max_order
    totals = [0] * max_order
    prediction_length = reference_length = 0
    for prediction, refs in zip(predictions, reference_lists):
        prediction_tokens = tokens_of(prediction)
        reference_tokens = [tokens_of(ref) for ref in refs]
        prediction_length += len(prediction_tokens)
        reference_length += closest_reference_length(
            len(prediction_tokens), [len(tokens) for tokens in reference_tokens]
        )
        # Clip each n-gram by its largest count in any single reference (Counter union = max).
        max_reference_counts: Counter = Counter()
        for tokens in reference_tokens:
            max_reference_counts |= ngram_counts(tokens, max_order)
        for ngram, count in ngram_counts(prediction_tokens, max_order).items():
            order = len(ngram) - 1
            totals[order] += count
            matches[order] += min(count, max_reference_counts[ngram])

    precisions = []
    zero_match_orders = 0
    for matched, total in zip(matches, totals):
        if matched > 0:
            precisions.append(matched / total)
        elif smooth == "exp" and total > 0:
            zero_match_orders += 1
            precisions.append(1.0 / (2**zero_match_orders * total))
        else:
            precisions.append(0.0)

    if prediction_length == 0:
        brevity_penalty = 0.0
    elif prediction_length < reference_length:
        brevity_penalty = math.exp(1.0 - reference_length / prediction_length)
    else:
        brevity_penalty = 1.0
    if min(precisions) == 0.0 or not any(matches):
        score = 0.0
    else:
        score = brevity_penalty * math.exp(sum(math.log(p) for p in precisions) / max_order)
    return {
        "bleu": score,
        "precisions": precisions,
        "brevity_penalty": brevity_penalty,
        "length_ratio": prediction_length / reference_length if reference_length else 0.0,
        "prediction_length": prediction_length,
        "reference_length": reference_length,
    }


class CorpusBleu(evaluate.Metric):
    """Corpus BLEU-4 as an offline ``evaluate.Metric`` (``compute(predictions=, references=)``).

    Extra ``compute`` arguments: ``max_order``, ``smooth``, ``lowercase`` (see ``corpus_bleu``).
    """

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Corpus-level BLEU with the standard brevity penalty; whitespace tokenisation.",
            citation="Papineni et al., BLEU: a Method for Automatic Evaluation of Machine Translation, ACL 2002.",
            features=generation_features(),
        )

    def _compute(self, predictions, references, max_order: int = 4, smooth: str = "none", lowercase=False):
        return corpus_bleu(predictions, references, max_order=max_order, smooth=smooth, lowercase=lowercase)
