"""Reading an MMSA pickle (MOSI / MOSEI / SIMS) safely and checking its layout up front.

Expected layout: a dict ``{"train", "valid", "test"}`` (a file may hold a subset, but no other
keys); each split a dict of per-sample arrays, N = samples in the split:

- ``audio [N, La, Da]`` and ``vision [N, Lv, Dv]``: numeric, zero-padded (required);
- ``text [N, L, Dt]`` (BERT features) and/or ``text_bert [N, 3, L]`` (token ids, mask,
  segment ids as whole numbers); at least one, and the same L when both are present;
- ``regression_labels [N]`` (or ``[N, 1]``), numeric (required);
- optional ``audio_lengths`` / ``vision_lengths [N]`` whole numbers within the padded length,
  ``id`` / ``raw_text [N]``, ``classification_labels`` and SIMS' ``regression_labels_T/A/V``.

Every error names the file, the split and the field (and the sample, for value errors).
The feature shapes (past N) must agree across splits, since each column has one shape.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .safe_pickle import safe_load_pickle

RELEASE_SPLITS = ("train", "valid", "test")
OPTIONAL_LABELS = (
    "classification_labels",
    "regression_labels_T",
    "regression_labels_A",
    "regression_labels_V",
)
_FEATURES = {"text": "[N, L, 768]", "text_bert": "[N, 3, L]", "audio": "[N, La, Da]", "vision": "[N, Lv, Dv]"}
_WHOLE_NUMBERS = ("text_bert", "audio_lengths", "vision_lengths")
_STRINGS = ("id", "raw_text")


def _per_sample(split: str, field: str, value: Any, num_samples: int | None, ndim: int) -> np.ndarray:
    """``value`` as an array with ``ndim`` dims and ``num_samples`` rows, of the field's kind."""
    where = f"MMSA split {split!r}: field {field!r}"
    expected = _FEATURES.get(field, "[N]")
    try:
        array = np.asarray(value)
    except ValueError:  # numpy refuses ragged nested lists
        raise ValueError(
            f"{where} is ragged (samples of different shapes); expected one zero-padded {expected} array"
        ) from None
    if field.endswith("labels") or field.startswith("regression_labels"):
        array = array[:, 0] if array.ndim == 2 and array.shape[1] == 1 else array  # some files store [N, 1]
    if array.ndim != ndim:
        raise ValueError(f"{where} should be {expected} ({ndim} dims), got shape {array.shape}")
    if num_samples is not None and array.shape[0] != num_samples:
        raise ValueError(f"{where} has {array.shape[0]} samples but 'regression_labels' has {num_samples}")
    if field in _STRINGS:
        return array
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{where} should be a numeric {expected} array, got dtype {array.dtype}")
    if field in _WHOLE_NUMBERS and array.size:
        fractional = ~(np.isfinite(array) & (np.mod(array, 1) == 0))
        if fractional.any():
            sample = int(np.flatnonzero(fractional.reshape(array.shape[0], -1).any(axis=1))[0])
            raise ValueError(f"{where} should hold whole numbers; sample #{sample} has a fractional value")
    return array


def read_mmsa_split(split: str, fields: dict[str, Any]) -> dict[str, np.ndarray]:
    """Validate one split's dict and return its arrays (``-inf`` in audio already set to 0).

    Returns a dict with ``labels [N]``, ``audio [N, La, Da]``, ``vision [N, Lv, Dv]``, and
    where present ``text [N, L, Dt]``, ``text_bert [N, 3, L]``, ``audio_lengths [N]``,
    ``vision_lengths [N]``, ``id [N]``, ``raw_text [N]`` and the optional label arrays.
    """
    if not isinstance(fields, dict):
        raise ValueError(f"MMSA split {split!r} should be a dict of arrays, got {type(fields).__name__}")
    for required in ("regression_labels", "audio", "vision"):
        if required not in fields:
            raise ValueError(f"MMSA split {split!r} has no {required!r} field (has: {sorted(fields)})")
    if "text" not in fields and "text_bert" not in fields:
        raise ValueError(f"MMSA split {split!r} has neither 'text' nor 'text_bert' (has: {sorted(fields)})")
    labels = _per_sample(split, "regression_labels", fields["regression_labels"], None, 1).astype(np.float32)
    count = labels.shape[0]
    arrays: dict[str, np.ndarray] = {"labels": labels}
    for field in _FEATURES:
        if field in fields:
            arrays[field] = _per_sample(split, field, fields[field], count, 3)
    if "text_bert" in arrays:
        if arrays["text_bert"].shape[1] != 3:
            raise ValueError(
                f"MMSA split {split!r}: 'text_bert' should be [N, 3, L] (ids, mask, segments), "
                f"got {arrays['text_bert'].shape}"
            )
        if "text" in arrays and arrays["text"].shape[1] != arrays["text_bert"].shape[2]:
            raise ValueError(
                f"MMSA split {split!r}: 'text' has {arrays['text'].shape[1]} token positions but "
                f"'text_bert' has {arrays['text_bert'].shape[2]}; both should describe the same L tokens"
            )
    for field in ("audio_lengths", "vision_lengths", *_STRINGS, *OPTIONAL_LABELS):
        if field in fields:
            arrays[field] = _per_sample(split, field, fields[field], count, 1)
    # A float copy: the -inf fix must not touch the caller's array.
    arrays["audio"] = arrays["audio"].astype(np.float32)
    arrays["audio"][np.isneginf(arrays["audio"])] = 0.0
    for field in ("text", "audio", "vision"):
        if field in arrays:
            bad = ~np.isfinite(arrays[field].reshape(count, -1)).all(axis=1)
            if bad.any():
                raise ValueError(
                    f"MMSA split {split!r}: sample {_sample_name(arrays, int(np.flatnonzero(bad)[0]))} has "
                    f"non-finite values (NaN or +/-inf) in {field!r}"
                )
    for modality in ("audio", "vision"):
        if f"{modality}_lengths" in arrays:
            lengths = arrays[f"{modality}_lengths"].astype(np.int64)
            padded = arrays[modality].shape[1]
            bad = np.flatnonzero((lengths < 0) | (lengths > padded))
            if bad.size:
                raise ValueError(
                    f"MMSA split {split!r}: sample {_sample_name(arrays, int(bad[0]))} has {modality}_lengths="
                    f"{int(lengths[bad[0]])} outside [0, {padded}] (the padded length)"
                )
            arrays[f"{modality}_lengths"] = lengths
    return arrays


def _sample_name(arrays: dict[str, np.ndarray], index: int) -> str:
    return f"#{index} (id {str(arrays['id'][index])!r})" if "id" in arrays else f"#{index}"


def check_splits_agree(splits: dict[str, dict[str, np.ndarray]]) -> None:
    """Each column has one shape: every split must carry the same fields with the same per-sample shapes."""
    first_name, first = next(iter(splits.items()))
    for name, arrays in splits.items():
        for field in (*_FEATURES, "audio_lengths", "vision_lengths", *OPTIONAL_LABELS):
            if (field in arrays) != (field in first):
                holder, other = (name, first_name) if field in arrays else (first_name, name)
                raise ValueError(f"split {holder!r} has field {field!r} but split {other!r} does not")
            if field in _FEATURES and field in arrays and arrays[field].shape[1:] != first[field].shape[1:]:
                raise ValueError(
                    f"field {field!r} has per-sample shape {arrays[field].shape[1:]} in split {name!r} but "
                    f"{first[field].shape[1:]} in split {first_name!r} (one shape per column)"
                )


def read_mmsa_pickle(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """Read an MMSA pickle safely; returns ``{"train"|"valid"|"test": read_mmsa_split(...)}``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"MMSA pickle {path!r} does not exist")
    content = safe_load_pickle(path)
    if not isinstance(content, dict) or not set(content) & set(RELEASE_SPLITS):
        keys = sorted(map(str, content)) if isinstance(content, dict) else type(content).__name__
        raise ValueError(f"{path}: expected a dict with 'train'/'valid'/'test' splits, got {keys}")
    unknown = sorted(map(str, set(content) - set(RELEASE_SPLITS)))
    if unknown:
        # Silently dropping e.g. a "val" split would lose a third of the evaluation data.
        raise ValueError(
            f"{path}: unexpected top-level keys {unknown}; an MMSA pickle holds only the splits "
            "'train', 'valid' and 'test' (the validation split is named 'valid')"
        )
    try:
        splits = {
            split: read_mmsa_split(split, content[split]) for split in RELEASE_SPLITS if split in content
        }
        check_splits_agree(splits)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return splits
