"""An MMSA pickle with an unexpected layout fails before generation, naming file, split and field."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import datasets
import numpy as np
import pytest

from hf_graph4mm.data.mmsa import load_mmsa, read_mmsa_pickle


def _split(count: int, seed: int) -> dict:
    """A well-formed unaligned split: N=count, L=4 tokens, audio [5, 2], vision [6, 3]."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((count, 3, 4), dtype=np.float32)
    ids[:, 0, :3], ids[:, 1, :3] = [101, 7, 102], 1
    return {
        "id": np.array([f"clip{seed}_{i}" for i in range(count)], dtype=object),
        "raw_text": np.array([f"words {i}" for i in range(count)], dtype=object),
        "text": rng.normal(size=(count, 4, 8)).astype(np.float32),
        "text_bert": ids,
        "audio": rng.normal(size=(count, 5, 2)).astype(np.float32),
        "vision": rng.normal(size=(count, 6, 3)).astype(np.float32),
        "audio_lengths": [5] * count,
        "vision_lengths": [4] * count,
        "regression_labels": np.linspace(-3, 3, count).astype(np.float32),
    }


def _content() -> dict:
    return {"train": _split(3, 0), "valid": _split(2, 1), "test": _split(2, 2)}


def _set(split: str, field: str, value):
    return lambda content: content[split].__setitem__(
        field, value(content[split]) if callable(value) else value
    )


CASES = {
    "modality missing": (
        lambda c: c["train"].pop("vision"),
        r"MMSA split 'train' has no 'vision' field \(has: \[",
    ),
    "no text at all": (
        lambda c: (c["valid"].pop("text"), c["valid"].pop("text_bert")),
        r"MMSA split 'valid' has neither 'text' nor 'text_bert'",
    ),
    "modality with fewer samples": (
        _set("train", "audio", lambda s: s["audio"][:2]),
        r"split 'train': field 'audio' has 2 samples but 'regression_labels' has 3",
    ),
    "text and text_bert disagree on L": (
        _set("test", "text", lambda s: s["text"][:, :3]),
        r"split 'test': 'text' has 3 token positions but 'text_bert' has 4",
    ),
    "features as strings": (
        _set("train", "audio", lambda s: s["audio"].astype(str)),
        r"split 'train': field 'audio' should be a numeric \[N, La, Da\] array, got dtype <U",
    ),
    "ragged features": (
        _set("train", "vision", [np.zeros((6, 3)), np.zeros((5, 3)), np.zeros((6, 3))]),
        r"split 'train': field 'vision' is ragged \(samples of different shapes\); "
        r"expected one zero-padded \[N, Lv, Dv\] array",
    ),
    "features missing a dimension": (
        _set("valid", "vision", lambda s: s["vision"][:, :, 0]),
        r"split 'valid': field 'vision' should be \[N, Lv, Dv\] \(3 dims\), got shape \(2, 6\)",
    ),
    "fractional token ids": (
        lambda c: c["train"]["text_bert"].__setitem__((1, 0, 1), 7.5),
        r"split 'train': field 'text_bert' should hold whole numbers; sample #1 has a fractional value",
    ),
    "fractional lengths": (
        _set("test", "audio_lengths", [5, 2.5]),
        r"split 'test': field 'audio_lengths' should hold whole numbers; sample #1",
    ),
    "labels as text": (
        _set("valid", "regression_labels", np.array(["pos", "neg"])),
        r"split 'valid': field 'regression_labels' should be a numeric \[N\] array, got dtype <U3",
    ),
    "split named val": (
        lambda c: c.__setitem__("val", c.pop("valid")),
        r"unexpected top-level keys \['val'\]; an MMSA pickle holds only the splits 'train', 'valid' and 'test'",
    ),
    "no known split": (
        lambda c: [c.__setitem__(f"{k}ing", c.pop(k)) for k in list(c)],
        r"expected a dict with 'train'/'valid'/'test' splits, got \['testing', 'training', 'validing'\]",
    ),
    "split not a dict": (
        lambda c: c.__setitem__("test", list(c["test"].values())),
        r"MMSA split 'test' should be a dict of arrays, got list",
    ),
    "feature dims differ across splits": (
        _set("test", "vision", lambda s: np.zeros((2, 6, 4), dtype=np.float32)),
        r"field 'vision' has per-sample shape \(6, 4\) in split 'test' but \(6, 3\) in split 'train'",
    ),
    "lengths only in some splits": (
        lambda c: c["valid"].pop("vision_lengths"),
        r"split 'train' has field 'vision_lengths' but split 'valid' does not",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layout_error_is_raised_before_generation_and_names_file_split_field(tmp_path, case):
    corrupt, message = CASES[case]
    content = _content()
    corrupt(content)
    path = tmp_path / "mosi.pkl"
    path.write_bytes(pickle.dumps(content, protocol=4))
    with pytest.raises(ValueError, match=message) as error:
        read_mmsa_pickle(path)
    assert str(error.value).startswith(f"{path}: "), str(error.value)
    cache = tmp_path / "cache"
    try:
        load_mmsa(path, cache_dir=cache)
    except datasets.exceptions.DatasetGenerationError as wrapped:  # the generic wrapper of issue 14
        pytest.fail(f"error surfaced during generation: {wrapped.__cause__!r}")
    except ValueError as raised:
        assert re.search(message, str(raised)) and str(path) in str(raised), str(raised)
    else:
        pytest.fail(f"load_mmsa accepted a pickle with {case}")
    assert not list(Path(cache).rglob("*.arrow")), "nothing may be generated from a malformed pickle"


def test_well_formed_content_passes(tmp_path):
    path = tmp_path / "mosi.pkl"
    path.write_bytes(pickle.dumps(_content(), protocol=4))
    dataset = load_mmsa(path, cache_dir=tmp_path / "cache")
    assert {split: part.num_rows for split, part in dataset.items()} == {
        "train": 3,
        "validation": 2,
        "test": 2,
    }
    assert dataset["test"]["vision_lengths"] == [4, 4]
