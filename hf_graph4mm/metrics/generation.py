"""The generation metric set reported in the Graph4MM tables, as one call for evaluation code."""

from __future__ import annotations

from collections.abc import Sequence

from .bleu import corpus_bleu
from .cider import cider
from .normalization import normalize_text
from .rouge import rouge_l
from .text_inputs import pair_predictions_with_references


def compute_generation_metrics(
    predictions: Sequence[str],
    references: Sequence[str | Sequence[str]],
    normalize: bool = True,
    use_stemmer: bool = False,
    cider_variant: str = "cider-d",
) -> dict[str, float]:
    """Corpus BLEU-4, mean ROUGE-L F and CIDEr-D (by default) of generated texts.

    Args:
        predictions: ``[samples]`` generated texts.
        references: ``[samples]`` a reference or a list of references per sample.
        normalize: lowercase and drop punctuation (``normalize_text``) before BLEU and CIDEr, as
            caption evaluation does; with False the texts are only split on whitespace.
            ROUGE-L always uses its own tokenisation (which lowercases and drops punctuation too).
        use_stemmer: Porter-stem tokens for ROUGE-L (needs nltk).
        cider_variant: ``"cider-d"`` or ``"cider"`` (see ``hf_graph4mm.metrics.cider``).

    Returns:
        ``{"bleu4", "rougeL", "cider"}``, each a float (BLEU and ROUGE-L on a 0-1 scale).
    """
    predictions, references = pair_predictions_with_references(predictions, references, "generation metrics")
    if normalize:
        tokenized_predictions = [normalize_text(text) for text in predictions]
        tokenized_references = [[normalize_text(text) for text in refs] for refs in references]
    else:
        tokenized_predictions, tokenized_references = predictions, references
    return {
        "bleu4": corpus_bleu(tokenized_predictions, tokenized_references, max_order=4)["bleu"],
        "rougeL": rouge_l(predictions, references, use_stemmer=use_stemmer)["rougeL"],
        "cider": cider(tokenized_predictions, tokenized_references, variant=cider_variant)["cider"],
    }
