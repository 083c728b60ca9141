"""CMU-MOSI, CMU-MOSEI and CH-SIMS from the MMSA pickles, as ``datasets`` for GsiT.

The MMSA release is one pickled dict ``{"train", "valid", "test"}``; each split is a dict
of per-sample arrays (N = samples in the split):

- ``text``: ``[N, L, 768]`` BERT features; ``text_bert``: ``[N, 3, L]`` (token ids,
  attention mask, segment ids) -- a file has either or both;
- ``audio``: ``[N, La, Da]``, ``vision``: ``[N, Lv, Dv]``, zero-padded; unaligned files
  also carry ``audio_lengths`` / ``vision_lengths`` ``[N]``;
- ``regression_labels`` ``[N]`` (sentiment in [-3, 3], SIMS in [-1, 1]); optional
  ``classification_labels``, ``raw_text``, ``id``; SIMS adds per-modality
  ``regression_labels_T`` / ``_A`` / ``_V``.

The pickle is read with :func:`~hf_graph4mm.data.mmsa.safe_pickle.safe_load_pickle` (numpy and
plain containers only) and its layout checked by :mod:`.reader` before ``datasets`` generates
anything; :mod:`hf_graph4mm.testing.samples.mmsa` writes a synthetic pickle. Each example's
columns are named after ``GsiTForSequenceClassification.forward`` arguments: ``text_features``,
``input_ids``, ``attention_mask``, ``token_type_ids``, ``audio_features``, ``audio_lengths``,
``vision_features``, ``vision_lengths``, ``labels`` (the regression label), plus ``id``,
``raw_text``, ``text_lengths`` and the optional label columns kept under their release
names. ``-inf`` in audio (log-energy of silence in the COVAREP features) becomes 0 as in
the published pipelines; any other non-finite value is an error naming the sample.
Splits are renamed to ``train`` / ``validation`` / ``test``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import datasets
import numpy as np

from .reader import OPTIONAL_LABELS, read_mmsa_pickle

SPLIT_NAMES = {"train": datasets.Split.TRAIN, "valid": datasets.Split.VALIDATION, "test": datasets.Split.TEST}
TEXT_INPUTS = ("auto", "features", "token_ids")


def _fingerprint(path: str) -> str:
    stat = os.stat(path)
    return f"{stat.st_size}-{stat.st_mtime_ns}"


# ---------------------------------------------------------------------------------------- builder
@dataclass
class MMSAConfig(datasets.BuilderConfig):
    """Args:
    path: the MMSA pickle (e.g. ``MOSI/Processed/unaligned_50.pkl``).
    text_inputs: ``"features"`` (``text_features``), ``"token_ids"`` (``input_ids`` etc.
        from ``text_bert``) or ``"auto"`` (whatever the file has).
    file_fingerprint: size and mtime of the pickle, so an edited file is prepared again.
    """

    path: str | None = None
    text_inputs: str = "auto"
    file_fingerprint: str = ""


class MMSA(datasets.GeneratorBasedBuilder):
    """Builder over one MMSA pickle; see the module docstring for the columns."""

    BUILDER_CONFIG_CLASS = MMSAConfig

    def _splits(self) -> dict[str, dict[str, np.ndarray]]:
        if not self.config.path:
            raise ValueError("MMSA builder needs path=<the MMSA .pkl file>")
        if self.config.text_inputs not in TEXT_INPUTS:
            raise ValueError(f"text_inputs must be one of {TEXT_INPUTS}, got {self.config.text_inputs!r}")
        # Read once per builder (its _info and every split need it); freed with the builder.
        if getattr(self, "_arrays", None) is None:
            self._arrays = read_mmsa_pickle(self.config.path)
        return self._arrays

    def _columns(self, arrays: dict[str, np.ndarray]) -> tuple[bool, bool]:
        """Whether to emit (text_features, token ids) given the file and ``text_inputs``."""
        mode, path = self.config.text_inputs, self.config.path
        want_features = mode in ("auto", "features") and "text" in arrays
        want_ids = mode in ("auto", "token_ids") and "text_bert" in arrays
        if mode == "features" and "text" not in arrays:
            raise ValueError(f"{path}: text_inputs='features' but the file has no 'text' field")
        if mode == "token_ids" and "text_bert" not in arrays:
            raise ValueError(f"{path}: text_inputs='token_ids' but the file has no 'text_bert' field")
        return want_features, want_ids

    def _info(self) -> datasets.DatasetInfo:
        splits = self._splits()
        first = next(iter(splits.values()))  # read_mmsa_pickle checked that the splits agree
        want_features, want_ids = self._columns(first)
        features: dict[str, Any] = {"id": datasets.Value("string"), "raw_text": datasets.Value("string")}
        if want_features:
            features["text_features"] = datasets.Array2D(first["text"].shape[1:], "float32")
        if want_ids:
            for column in ("input_ids", "attention_mask", "token_type_ids"):
                features[column] = datasets.List(datasets.Value("int64"))
            features["text_lengths"] = datasets.Value("int64")
        for modality in ("audio", "vision"):
            features[f"{modality}_features"] = datasets.Array2D(first[modality].shape[1:], "float32")
            if f"{modality}_lengths" in first:
                features[f"{modality}_lengths"] = datasets.Value("int64")
        features["labels"] = datasets.Value("float32")
        for column in OPTIONAL_LABELS:
            if column in first:
                features[column] = datasets.Value("float32")
        return datasets.DatasetInfo(
            description="Multimodal sentiment analysis (MMSA pickle layout: MOSI / MOSEI / SIMS).",
            features=datasets.Features(features),
        )

    def _split_generators(self, dl_manager):
        return [
            datasets.SplitGenerator(name=SPLIT_NAMES[split], gen_kwargs={"split": split})
            for split in self._splits()
        ]

    def _generate_examples(self, split: str):
        arrays = self._splits()[split]
        want_features, want_ids = self._columns(arrays)
        columns = set(self.info.features)
        for index in range(arrays["labels"].shape[0]):
            example: dict[str, Any] = {
                "id": str(arrays["id"][index]) if "id" in arrays else f"{split}-{index}",
                "raw_text": str(arrays["raw_text"][index]) if "raw_text" in arrays else "",
                "audio_features": arrays["audio"][index],
                "vision_features": arrays["vision"][index].astype(np.float32),
                "labels": float(arrays["labels"][index]),
            }
            if want_features:
                example["text_features"] = arrays["text"][index].astype(np.float32)
            if want_ids:
                # text_bert is stored as floats in the release; ids, mask and segments are integers.
                ids, mask, segments = np.rint(arrays["text_bert"][index]).astype(np.int64)
                example.update(input_ids=ids, attention_mask=mask, token_type_ids=segments)
                example["text_lengths"] = int(mask.sum())
            for column in ("audio_lengths", "vision_lengths", *OPTIONAL_LABELS):
                if column in columns:
                    example[column] = arrays[column][index].item()
            yield index, example


def load_mmsa(
    path: str | os.PathLike,
    *,
    text_inputs: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    num_proc: int | None = None,
) -> datasets.DatasetDict:
    """Load an MMSA pickle (MOSI / MOSEI / SIMS) as a ``DatasetDict`` (train / validation / test).

    Args:
        path: the pickle file.
        text_inputs: ``"auto"``, ``"features"`` or ``"token_ids"`` (see :class:`MMSAConfig`).
        cache_dir: where ``datasets`` prepares the Arrow files (default: its cache).
        num_proc: accepted for symmetry with the other loaders; a pickle is one shard per split.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"MMSA pickle {path!r} does not exist")
    if text_inputs not in TEXT_INPUTS:
        raise ValueError(f"text_inputs must be one of {TEXT_INPUTS}, got {text_inputs!r}")
    options = dict(
        cache_dir=os.fspath(cache_dir) if cache_dir is not None else None,
        path=os.path.abspath(path),
        text_inputs=text_inputs,
        file_fingerprint=_fingerprint(path),
    )
    # The column shapes come from the pickle (GBs for MOSEI). With an empty info the builder
    # restores the real one from an existing Arrow cache, so a second load never unpickles.
    builder = MMSA(info=datasets.DatasetInfo(), **options)
    if builder.info.features is None:
        builder = MMSA(**options)
        builder.download_and_prepare(num_proc=num_proc if num_proc and num_proc > 1 else None)
    return builder.as_dataset()
