"""A small synthetic pickle in the MMSA layout (the bundled MOSI-like sample, test fixtures)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from . import SAMPLE_DATA

SAMPLE_PICKLE = SAMPLE_DATA / "mmsa" / "mosi_sample_unaligned.pkl"

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
