"""Offline evaluation metrics: ``evaluate.Metric`` classes and plain functions.

``evaluate.load("bleu")`` needs the network; these need nothing but the package. Generation:
corpus BLEU-4, ROUGE-L F, CIDEr-D (and original CIDEr); zero-shot classification accuracy;
the MSA metric sets of MOSI / MOSEI / CH-SIMS. Each module's docstring gives the exact
definition and tokenisation. The ``evaluate.Metric`` classes score texts as given;
``compute_generation_metrics`` first lowercases and drops punctuation (``normalize_text``).
"""

from __future__ import annotations

import evaluate

from .accuracy import ZeroShotAccuracy, zero_shot_accuracy
from .bleu import CorpusBleu, corpus_bleu
from .cider import Cider, cider
from .generation import compute_generation_metrics
from .msa import MSAMetrics, compute_msa_metrics
from .normalization import normalize_text
from .rouge import RougeL, rouge_l

METRIC_CLASSES: dict[str, type[evaluate.Metric]] = {
    "bleu": CorpusBleu,
    "rouge": RougeL,
    "rougeL": RougeL,
    "cider": Cider,
    "accuracy": ZeroShotAccuracy,
    "msa": MSAMetrics,
}


def load_metric(name: str, **kwargs) -> evaluate.Metric:
    """An offline stand-in for ``evaluate.load(name)``.

    ``kwargs`` go to the metric's constructor, e.g. ``load_metric("msa", config_name="sims")``,
    ``load_metric("cider", config_name="cider")`` for original CIDEr, ``keep_in_memory=True``.
    """
    if name not in METRIC_CLASSES:
        raise ValueError(f"unknown metric {name!r}; available: {sorted(METRIC_CLASSES)}")
    return METRIC_CLASSES[name](**kwargs)


__all__ = [
    "METRIC_CLASSES",
    "Cider",
    "CorpusBleu",
    "MSAMetrics",
    "RougeL",
    "ZeroShotAccuracy",
    "cider",
    "compute_generation_metrics",
    "compute_msa_metrics",
    "corpus_bleu",
    "load_metric",
    "normalize_text",
    "rouge_l",
    "zero_shot_accuracy",
]
