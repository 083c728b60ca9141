"""Validation shared by the generation metrics: predictions paired with one or more references.

Every generation metric takes ``predictions: list[str]`` and ``references`` where each entry
is either one reference string or a non-empty list of them. They all go through
``pair_predictions_with_references`` so that bad input fails the same way everywhere, naming
the offending sample.
"""

from __future__ import annotations

from collections.abc import Sequence


def pair_predictions_with_references(
    predictions: Sequence[str], references: Sequence[str | Sequence[str]], metric: str
) -> tuple[list[str], list[list[str]]]:
    """Check and normalise a metric's inputs.

    Args:
        predictions: ``[samples]`` generated texts.
        references: ``[samples]`` a reference text, or a non-empty list of reference texts, per sample.
        metric: the metric's name, used in error messages.

    Returns:
        ``(predictions, references)`` with ``references[i]`` always a list of strings.

    Raises:
        ValueError: the lengths differ, there are no samples, or an entry is not text.
    """
    if isinstance(predictions, str) or isinstance(references, str):
        raise ValueError(
            f"{metric}: predictions and references must be lists (one entry per sample), got a single string"
        )
    predictions = list(predictions)
    references = list(references)
    if len(predictions) != len(references):
        raise ValueError(
            f"{metric}: got {len(predictions)} predictions but {len(references)} references; "
            "give one reference (or list of references) per prediction"
        )
    if not predictions:
        raise ValueError(f"{metric}: no samples to score (predictions and references are empty)")
    for index, prediction in enumerate(predictions):
        if not isinstance(prediction, str):
            raise ValueError(f"{metric}: prediction {index} is {type(prediction).__name__}, expected str")
    reference_lists = []
    for index, entry in enumerate(references):
        refs = [entry] if isinstance(entry, str) else list(entry)
        if not refs:
            raise ValueError(f"{metric}: sample {index} has an empty list of references")
        for position, ref in enumerate(refs):
            if not isinstance(ref, str):
                raise ValueError(
                    f"{metric}: reference {position} of sample {index} is {type(ref).__name__}, expected str"
                )
        reference_lists.append(refs)
    return predictions, reference_lists


def generation_features() -> list:
    """The two input formats an ``evaluate.Metric`` over texts accepts: several references or one."""
    import datasets

    return [
        datasets.Features(
            {"predictions": datasets.Value("string"), "references": datasets.List(datasets.Value("string"))}
        ),
        datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
    ]
