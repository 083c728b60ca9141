"""CIDEr and CIDEr-D (Vedantam, Zitnick and Parikh, CVPR 2015): consensus with the references.

Each text becomes, for every n-gram order n = 1..4, a tf-idf vector ``g_n``: the n-gram's raw
count in the text times ``log(N) - log(max(1, df))``, where ``N`` is the number of samples and
``df`` the number of samples whose references contain the n-gram (so the idf comes from the
references of the corpus being scored; an n-gram no reference has gets the full ``log N``).

``variant="cider-d"`` (the DEFAULT, the number papers report as "CIDEr", and what the
Graph4MM tables use): for a prediction ``c`` with references ``s_1..s_m``

    CIDEr-D_n = 10/m * sum_j exp(-(l(c) - l(s_j))**2 / (2 sigma**2))
                      * sum_k min(g_n(c)[k], g_n(s_j)[k]) * g_n(s_j)[k] / (|g_n(c)| |g_n(s_j)|)

averaged uniformly over n, with sigma = 6. The ``min`` clips a prediction's weight at the
reference's, so repeating a good n-gram earns nothing; the Gaussian penalises length gaps.
This is exactly ``pycocoevalcap.cider.Cider`` (the COCO caption evaluation code), including two
of its conventions: the length ``l`` is the number of bigrams of a text (``words - 1``, so the
penalty equals the paper's word-count penalty except when a text has fewer than 2 words), and
tf is the raw count (not divided by the text's n-gram total).

``variant="cider"``: the original CIDEr of the paper, ``CIDEr_n = 1/m sum_j cos(g_n(c), g_n(s_j))``
averaged over n: no clipping, no length penalty, no x10 (so it lies in [0, 1] and is not
comparable with CIDEr-D numbers). The paper also stemmed words; here tokens are used as given.

Tokenisation: whitespace splitting only, as pycocoevalcap expects (the COCO pipeline runs its
PTB tokenizer first). Lowercase / strip punctuation beforehand if references are raw text.
The score is a corpus score: the idf depends on all samples, so scores of separate batches
cannot be averaged into the corpus score.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import evaluate

from .ngrams import ngram_counts
from .text_inputs import generation_features, pair_predictions_with_references

CIDER_VARIANTS = ("cider-d", "cider")


def _tfidf_vectors(
    counts: Counter, document_frequency: Counter, log_num_samples: float, max_order: int
) -> tuple[list[dict], list[float]]:
    """Per-order tf-idf vectors (n-gram -> weight) of one text and their Euclidean norms."""
    vectors: list[dict] = [{} for _ in range(max_order)]
    for ngram, count in counts.items():
        idf = log_num_samples - math.log(max(1.0, document_frequency[ngram]))
        vectors[len(ngram) - 1][ngram] = count * idf
    norms = [math.sqrt(sum(weight * weight for weight in vector.values())) for vector in vectors]
    return vectors, norms


def _bigram_length(tokens: Sequence[str], max_order: int) -> int:
    """The length CIDEr-D's penalty compares: the number of bigrams (pycocoevalcap's convention)."""
    return max(len(tokens) - 1, 0) if max_order >= 2 else 0


def _per_order_similarity(
    vectors: list[dict], norms: list[float], ref_vectors: list[dict], ref_norms: list[float], clipped: bool
) -> list[float]:
    """``[max_order]`` cosine similarity of a prediction's and a reference's tf-idf vectors per order.

    With ``clipped`` each prediction weight is capped at the reference's in the dot product (CIDEr-D);
    the norms stay those of the unclipped vectors.
    """
    similarities = []
    for vector, norm, ref_vector, ref_norm in zip(vectors, norms, ref_vectors, ref_norms):
        if norm == 0.0 or ref_norm == 0.0:
            similarities.append(0.0)  # an empty vector is similar to nothing
            continue
        dot = 0.0
        for ngram, weight in vector.items():
            ref_weight = ref_vector.get(ngram, 0.0)
            dot += (min(weight, ref_weight) if clipped else weight) * ref_weight
        similarities.append(dot / (norm * ref_norm))
    return similarities


def cider(
    predictions: Sequence[str],
    references: Sequence[str | Sequence[str]],
    variant: str = "cider-d",
    max_order: int = 4,
    sigma: float = 6.0,
) -> dict:
    """Corpus CIDEr-D (default) or original CIDEr.

    Args:
        predictions: ``[samples]`` generated texts (whitespace-tokenised).
        references: ``[samples]`` a reference or a list of references per sample.
        variant: ``"cider-d"`` or ``"cider"`` (see the module docstring).
        max_order: highest n-gram order.
        sigma: standard deviation of CIDEr-D's Gaussian length penalty.

    Returns:
        ``{"cider": mean over samples, "cider_per_sample": [samples]}``.
    """
    predictions, reference_lists = pair_predictions_with_references(predictions, references, "cider")
    if variant not in CIDER_VARIANTS:
        raise ValueError(f"cider: unknown variant={variant!r}; choose one of {CIDER_VARIANTS}")
    if max_order < 1:
        raise ValueError(f"cider: max_order must be at least 1, got {max_order}")
    if sigma <= 0:
        raise ValueError(f"cider: sigma must be positive, got {sigma}")

    prediction_tokens = [prediction.split() for prediction in predictions]
    reference_tokens = [[ref.split() for ref in refs] for refs in reference_lists]
    reference_counts = [[ngram_counts(tokens, max_order) for tokens in refs] for refs in reference_tokens]
    document_frequency: Counter = Counter()
    for counts_of_sample in reference_counts:
        document_frequency.update(set().union(*counts_of_sample))
    log_num_samples = math.log(len(predictions))
    clipped = variant == "cider-d"

    per_sample = []
    for tokens, refs_tokens, refs_counts in zip(prediction_tokens, reference_tokens, reference_counts):
        vectors, norms = _tfidf_vectors(
            ngram_counts(tokens, max_order), document_frequency, log_num_samples, max_order
        )
        per_order_total = [0.0] * max_order
        for ref_tokens, ref_counts in zip(refs_tokens, refs_counts):
            ref_vectors, ref_norms = _tfidf_vectors(
                ref_counts, document_frequency, log_num_samples, max_order
            )
            penalty = 1.0
            if clipped:
                gap = _bigram_length(tokens, max_order) - _bigram_length(ref_tokens, max_order)
                penalty = math.exp(-(gap**2) / (2 * sigma**2))
            similarities = _per_order_similarity(vectors, norms, ref_vectors, ref_norms, clipped)
            for order, similarity in enumerate(similarities):
                per_order_total[order] += penalty * similarity
        score = sum(per_order_total) / max_order / len(refs_tokens)
        per_sample.append(10.0 * score if clipped else score)
    return {"cider": sum(per_sample) / len(per_sample), "cider_per_sample": per_sample}


class Cider(evaluate.Metric):
    """CIDEr-D (default) / CIDEr as an offline ``evaluate.Metric``.

    ``Cider()`` or ``Cider(config_name="cider-d")`` gives CIDEr-D, ``Cider(config_name="cider")`` the
    original CIDEr; ``compute(..., sigma=, max_order=)`` as in ``cider``.
    """

    def _info(self) -> evaluate.MetricInfo:
        if self.config_name not in ("default", *CIDER_VARIANTS):
            raise ValueError(
                f"Cider: unknown config_name={self.config_name!r}; choose one of {CIDER_VARIANTS}"
            )
        return evaluate.MetricInfo(
            description="CIDEr-D (pycocoevalcap's Cider) or original CIDEr; idf from the scored references.",
            citation="Vedantam, Zitnick and Parikh, CIDEr: Consensus-based Image Description Evaluation, CVPR 2015.",
            features=generation_features(),
        )

    def _variant(self) -> str:
        return "cider-d" if self.config_name == "default" else self.config_name

    def _compute(self, predictions, references, max_order: int = 4, sigma: float = 6.0):
        result = cider(predictions, references, variant=self._variant(), max_order=max_order, sigma=sigma)
        return {"cider": result["cider"]}
