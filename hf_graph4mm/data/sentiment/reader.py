"""Reading a folder of per-sample ``.npy`` features and its labels table, every file checked.

``.npy`` files are read with ``allow_pickle=False``: an object array (which would need unpickling) is
refused, never loaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

MODALITIES = ("text", "audio", "vision")
LABEL_TABLES = ("labels.csv", "labels.parquet", "labels.jsonl")
SPLIT_ALIASES = {"valid": "validation", "val": "validation", "dev": "validation"}


def label_table(folder: Path) -> Path | None:
    """The folder's labels table, if it has one."""
    for name in LABEL_TABLES:
        if (folder / name).is_file():
            return folder / name
    return None


def read_label_table(path: Path) -> list[dict[str, Any]]:
    """Rows ``{"id": str, "label": float | int, "split": str}`` of a labels table (CSV, parquet, JSON Lines)."""
    import pandas as pd

    try:
        if path.suffix == ".csv":
            frame = pd.read_csv(path, dtype={"id": str})
        elif path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, lines=True, dtype={"id": str})
    except Exception as error:  # pandas raises many kinds; the message names the file
        raise ValueError(
            f"{path}: cannot read the labels table ({error.__class__.__name__}: {error})"
        ) from None
    label_column = "label" if "label" in frame.columns else "labels" if "labels" in frame.columns else None
    if "id" not in frame.columns or label_column is None:
        raise ValueError(
            f"{path}: a labels table needs columns 'id' and 'label' (optional 'split'); got {list(frame.columns)}"
        )
    rows = []
    seen: set[str] = set()
    for number, record in enumerate(frame.to_dict("records")):
        sample = str(record["id"])
        if sample in seen:
            raise ValueError(f"{path}: id {sample!r} appears twice (row {number})")
        seen.add(sample)
        if not sample or os.sep in sample or "/" in sample or sample in (".", ".."):
            raise ValueError(f"{path}: row {number} has id {sample!r}, which cannot name a file")
        label = record[label_column]
        if label is None or (isinstance(label, float) and not np.isfinite(label)):
            raise ValueError(f"{path}: sample {sample!r} has no finite label ({label!r})")
        split = str(record.get("split") or "train")
        rows.append({"id": sample, "label": label, "split": SPLIT_ALIASES.get(split, split)})
    return rows


def read_npy(path: Path, sample: str, modality: str) -> np.ndarray:
    """One sample's ``[time, dim]`` array; an error names the sample, the modality and the file."""
    if not path.is_file():
        raise ValueError(f"sample {sample!r}: no {modality} features file {path}")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as error:  # object arrays need pickle: refused
        raise ValueError(f"sample {sample!r}: {path} is not a plain numeric .npy array ({error})") from None


def read_npy_folder(folder: str | os.PathLike) -> dict[str, list[dict[str, Any]]]:
    """``{split: [row, ...]}`` with rows ``{"id", "text", "audio", "vision", "labels"}`` (arrays unchecked)."""
    folder = Path(folder)
    table = label_table(folder)
    if table is None:
        raise ValueError(f"{folder}: no labels table ({', '.join(LABEL_TABLES)})")
    splits: dict[str, list[dict[str, Any]]] = {}
    for record in read_label_table(table):
        row = {"id": record["id"], "labels": record["label"]}
        for modality in MODALITIES:
            row[modality] = read_npy(folder / modality / f"{record['id']}.npy", record["id"], modality)
        splits.setdefault(record["split"], []).append(row)
    return splits
