"""The generation metric set reported in the Graph4MM tables, as one call for evaluation code."""

from __future__ import annotations

from collections.abc import Sequence

from .bleu import corpus_bleu
from .cider import cider
from .rouge import rouge_l


def compute_generation_metrics(
    predictions: Sequence[str],
    references: Sequence[str | Sequence[str]],
    use_stemmer: bool = False,
    cider_variant: str = "cider-d",
) -> dict[str, float]:
    """Corpus BLEU-4, mean ROUGE-L F and CIDEr-D (by default) of generated texts.

    Args:
        predictions: ``[samples]`` generated texts.
        references: ``[samples]`` a reference or a list of references per sample.
        use_stemmer: Porter-stem tokens for ROUGE-L (needs nltk).
        cider_variant: ``"cider-d"`` or ``"cider"`` (see ``hf_graph4mm.metrics.cider``).

    Returns:
        ``{"bleu4", "rougeL", "cider"}``, each a float (BLEU and ROUGE-L on a 0-1 scale).
    """
    return {
        "bleu4": corpus_bleu(predictions, references, max_order=4)["bleu"],
        "rougeL": rouge_l(predictions, references, use_stemmer=use_stemmer)["rougeL"],
        "cider": cider(predictions, references, variant=cider_variant)["cider"],
    }
