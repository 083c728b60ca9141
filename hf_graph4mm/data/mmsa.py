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

The pickle is read with :func:`~hf_graph4mm.data.safe_pickle.safe_load_pickle` (numpy and
plain containers only). Each example's columns are named after
``GsiTForSequenceClassification.forward`` arguments: ``text_features``, ``input_ids``,
``attention_mask``, ``token_type_ids``, ``audio_features``, ``audio_lengths``,
``vision_features``, ``vision_lengths``, ``labels`` (the regression label), plus ``id``,
``raw_text``, ``text_lengths`` and the optional label columns kept under their release
names. ``-inf`` in audio (log-energy of silence in the COVAREP features) becomes 0 as in
the published pipelines; any other non-finite value is an error naming the sample.
Splits are renamed to ``train`` / ``validation`` / ``test``.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from .safe_pickle import safe_load_pickle

SPLIT_NAMES = {"train": datasets.Split.TRAIN, "valid": datasets.Split.VALIDATION, "test": datasets.Split.TEST}
TEXT_INPUTS = ("auto", "features", "token_ids")
_OPTIONAL_LABELS = (
    "classification_labels",
    "regression_labels_T",
    "regression_labels_A",
    "regression_labels_V",
)
SAMPLE_PICKLE = Path(__file__).resolve().parents[1] / "sample_data" / "mmsa" / "mosi_sample_unaligned.pkl"


# ---------------------------------------------------------------------------------------- reading
def _per_sample(split: str, field: str, value: Any, num_samples: int | None, ndim: int) -> np.ndarray:
    array = np.asarray(value)
    if field.endswith("labels") or field.startswith("regression_labels"):
        array = array[:, 0] if array.ndim == 2 and array.shape[1] == 1 else array  # some files store [N, 1]
    if array.ndim != ndim:
        raise ValueError(
            f"MMSA split {split!r}: field {field!r} should have {ndim} dims, got shape {array.shape}"
        )
    if num_samples is not None and array.shape[0] != num_samples:
        raise ValueError(
            f"MMSA split {split!r}: field {field!r} has {array.shape[0]} samples but 'regression_labels' has {num_samples}"
        )
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
    for field, ndim in (("text", 3), ("text_bert", 3), ("audio", 3), ("vision", 3)):
        if field in fields:
            arrays[field] = _per_sample(split, field, fields[field], count, ndim)
    if "text_bert" in arrays and arrays["text_bert"].shape[1] != 3:
        raise ValueError(
            f"MMSA split {split!r}: 'text_bert' should be [N, 3, L] (ids, mask, segments), got {arrays['text_bert'].shape}"
        )
    for field in ("audio_lengths", "vision_lengths", "id", "raw_text", *_OPTIONAL_LABELS):
        if field in fields:
            arrays[field] = _per_sample(split, field, fields[field], count, 1)
    arrays["audio"] = arrays["audio"].astype(
        np.float32
    )  # copy: the -inf fix must not touch the caller's array
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


def read_mmsa_pickle(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """Read an MMSA pickle safely; returns ``{"train"|"valid"|"test": read_mmsa_split(...)}``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"MMSA pickle {path!r} does not exist")
    content = safe_load_pickle(path)
    if not isinstance(content, dict) or not set(content) & set(SPLIT_NAMES):
        keys = sorted(content) if isinstance(content, dict) else type(content).__name__
        raise ValueError(f"{path}: expected a dict with 'train'/'valid'/'test' splits, got {keys}")
    try:
        return {split: read_mmsa_split(split, content[split]) for split in SPLIT_NAMES if split in content}
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


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
        first = next(iter(splits.values()))
        for name, arrays in splits.items():  # Array2D needs one shape per column across splits
            for field in ("text", "text_bert", "audio", "vision"):
                if (field in arrays) != (field in first) or (
                    field in arrays and arrays[field].shape[1:] != first[field].shape[1:]
                ):
                    raise ValueError(
                        f"{self.config.path}: field {field!r} of split {name!r} does not match the first split's shape"
                    )
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
        for column in _OPTIONAL_LABELS:
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
            for column in ("audio_lengths", "vision_lengths", *_OPTIONAL_LABELS):
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


# ---------------------------------------------------------------------------------------- sample writer
_SENTIMENT_WORDS = {
    -3: ("awful", "a complete waste of time"),
    -2: ("bad", "really boring"),
    -1: ("weak", "a bit disappointing"),
    0: ("okay", "neither good nor bad"),
    1: ("decent", "fairly enjoyable"),
    2: ("good", "really fun to watch"),
    3: ("amazing", "one of the best films this year"),
}
_TOPICS = ("movie", "acting", "story", "ending", "music", "characters")


def _stand_in_token_id(word: str) -> int:
    """A deterministic id in BERT's id range for the sample; not a real BERT vocabulary."""
    special = {"[CLS]": 101, "[SEP]": 102}
    return special.get(word, 1000 + sum(map(ord, word)) * 7919 % 29000)


def _sample_split(
    rng: np.random.Generator, count: int, layout: str, shapes: dict[str, tuple[int, ...]], prefix: str
):
    """Synthetic split whose features all carry the label, so a tiny model can learn it."""
    low, high = (-1.0, 1.0) if layout == "sims" else (-3.0, 3.0)
    labels = np.round(rng.uniform(low, high, size=count), 1).astype(np.float32)
    scale = 3.0 / high
    text_length, text_dim = shapes["text"]
    (audio_length, audio_dim), (vision_length, vision_dim) = shapes["audio"], shapes["vision"]
    raw_text, token_ids = [], np.zeros((count, 3, text_length), dtype=np.float32)
    text = rng.normal(0, 0.5, size=(count, text_length, text_dim)).astype(np.float32)
    audio = np.zeros((count, audio_length, audio_dim), dtype=np.float32)
    vision = np.zeros((count, vision_length, vision_dim), dtype=np.float32)
    audio_lengths = rng.integers(audio_length // 2, audio_length + 1, size=count)
    vision_lengths = rng.integers(vision_length // 2, vision_length + 1, size=count)
    text_direction = np.linspace(-1, 1, text_dim, dtype=np.float32)
    vision_direction = np.linspace(-1, 1, vision_dim, dtype=np.float32)
    for index, label in enumerate(labels):
        word, phrase = _SENTIMENT_WORDS[int(np.clip(np.rint(label * scale), -3, 3))]
        # The sentiment word comes first so it survives the sample's short token window.
        sentence = f"{word} {_TOPICS[index % len(_TOPICS)]} , {phrase}"
        raw_text.append(sentence)
        words = ["[CLS]", *sentence.split()[: text_length - 2], "[SEP]"]
        token_ids[index, 0, : len(words)] = [_stand_in_token_id(word) for word in words]
        token_ids[index, 1, : len(words)] = 1
        text[index] += label * scale * 0.3 * text_direction
        audio[index, : audio_lengths[index]] = rng.normal(
            label * scale * 0.2, 1.0, (audio_lengths[index], audio_dim)
        )
        vision[index, : vision_lengths[index]] = rng.normal(0, 1.0, (vision_lengths[index], vision_dim))
        vision[index, : vision_lengths[index]] += label * scale * 0.2 * vision_direction
    audio[0, 0, 0] = -np.inf  # as in COVAREP log-energy features of silent frames
    fields = {
        "raw_text": np.array(raw_text, dtype=object),
        "id": np.array([f"{prefix}{index:04d}$_${index % 5 + 1}" for index in range(count)], dtype=object),
        "text": text,
        "text_bert": token_ids,
        "audio": audio,
        "vision": vision,
        "audio_lengths": audio_lengths.tolist(),  # the release stores lengths as Python lists
        "vision_lengths": vision_lengths.tolist(),
        "regression_labels": labels,
        "classification_labels": (labels > 0).astype(np.float32) + (labels >= 0).astype(np.float32),
    }
    if layout == "sims":
        for modality in "TAV":
            fields[f"regression_labels_{modality}"] = np.clip(
                labels + rng.normal(0, 0.2, count), -1, 1
            ).astype(np.float32)
    return fields


def write_mmsa_pickle(
    path: str | os.PathLike,
    *,
    layout: str = "mosi",
    sizes: tuple[int, int, int] = (24, 8, 8),
    text_shape: tuple[int, int] = (6, 768),
    audio_shape: tuple[int, int] = (20, 5),
    vision_shape: tuple[int, int] = (24, 20),
    seed: int = 0,
) -> Path:
    """Write a synthetic pickle in the MMSA layout (``layout`` ``"mosi"``/``"mosei"``/``"sims"``).

    The sizes are ``(train, valid, test)``; shapes are ``(padded length, feature dim)``.
    Real MOSI files use text ``(50, 768)``, audio ``(375, 5)``, vision ``(500, 20)``.
    """
    if layout not in ("mosi", "mosei", "sims"):
        raise ValueError(f"layout must be 'mosi', 'mosei' or 'sims', got {layout!r}")
    rng = np.random.default_rng(seed)
    shapes = {"text": text_shape, "audio": audio_shape, "vision": vision_shape}
    content = {
        split: _sample_split(rng, count, layout, shapes, prefix=f"{layout}_{split}_")
        for split, count in zip(("train", "valid", "test"), sizes)
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(content, handle, protocol=4)
    return path


def write_mmsa_sample(out_dir: str | os.PathLike) -> Path:
    """The bundled sample: a small MOSI-layout pickle (24 / 8 / 8 samples, under 1 MB)."""
    return write_mmsa_pickle(Path(out_dir) / SAMPLE_PICKLE.name, layout="mosi", seed=0)
