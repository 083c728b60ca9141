"""User sentiment features -> a ``DatasetDict`` with the MMSA builder's columns, and back to parquet."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from ...processing.sentiment import check_sequence, feature_column, sample_name
from .reader import MODALITIES, SPLIT_ALIASES, label_table, read_npy_folder

TABLE_BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json"}


def sentiment_features(dims: Mapping[str, int], integer_labels: bool = False) -> datasets.Features:
    """The columns: ``id``, ``{m}_features`` (``[time, dim]``, any time), ``{m}_lengths``, ``labels``."""
    features: dict[str, Any] = {"id": datasets.Value("string")}
    for modality in MODALITIES:
        features[f"{modality}_features"] = datasets.Array2D((None, int(dims[modality])), "float32")
        features[f"{modality}_lengths"] = datasets.Value("int64")
    features["labels"] = datasets.Value("int64" if integer_labels else "float32")
    return datasets.Features(features)


def is_npy_layout(path: str | os.PathLike) -> bool:
    """A folder with a labels table and ``text/``, ``audio/``, ``vision/`` sub-folders of ``.npy`` files."""
    path = Path(path)
    return path.is_dir() and label_table(path) is not None and all((path / m).is_dir() for m in MODALITIES)


def _checked_row(row: Mapping[str, Any], index: int, split: str, dims: dict[str, int]) -> dict[str, Any]:
    where = f"split {split!r}, " + sample_name(row, index).replace(" of the batch", "")
    out: dict[str, Any] = {"id": str(row["id"]) if row.get("id") is not None else f"{split}-{index}"}
    for modality in MODALITIES:
        column, value = feature_column(row, modality)
        if value is None:
            raise ValueError(
                f"{where} has no {modality} (or {modality}_features) column; it has {sorted(row)}"
            )
        matrix = check_sequence(
            value, where=where, field=column, dim=dims.get(modality), length=row.get(f"{modality}_lengths")
        )
        dims.setdefault(modality, matrix.shape[1])  # the first row sets each width; later rows must match
        out[f"{modality}_features"] = matrix.numpy()
        out[f"{modality}_lengths"] = matrix.shape[0]
    label = row.get("labels", row.get("label"))
    if label is None:
        raise ValueError(f"{where} has no label (a 'label' or 'labels' column)")
    out["labels"] = np.asarray(label).reshape(-1)[0].item()
    return out


def sentiment_dataset(splits: Mapping[str, Iterable[Mapping[str, Any]]]) -> datasets.DatasetDict:
    """Rows per split -> a ``DatasetDict`` with the MMSA columns, every sequence checked.

    A row holds ``text`` / ``audio`` / ``vision`` (or ``*_features``) as ``[time, dim]`` arrays or nested
    lists, a ``label`` (or ``labels``) and optionally an ``id`` and ``*_lengths``. Widths must agree across
    rows (the first row's set them); an error names the split, the sample and the field.
    """
    dims: dict[str, int] = {}
    checked = {
        SPLIT_ALIASES.get(split, split): [_checked_row(row, i, split, dims) for i, row in enumerate(rows)]
        for split, rows in splits.items()
    }
    if not any(checked.values()):
        raise ValueError("no samples: every split is empty")
    integer = all(isinstance(row["labels"], int) for rows in checked.values() for row in rows)
    features = sentiment_features(dims, integer_labels=integer)
    return datasets.DatasetDict(
        {
            split: datasets.Dataset.from_list(rows, features=features)
            for split, rows in checked.items()
            if rows
        }
    )


def _table_rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Rows of a table file, or of a folder of ``{split}.{parquet,jsonl}`` files; a ``split`` column splits."""
    if path.is_file():
        files = {"train": [path]}
    else:
        files = {}
        for file in sorted(path.glob("*")) + sorted((path / "data").glob("*")):
            if file.suffix in TABLE_BUILDERS:
                split = file.name.split(".")[0].split("-")[0]
                files.setdefault(SPLIT_ALIASES.get(split, split), []).append(file)
        if not files:
            raise ValueError(f"{path}: no .parquet / .jsonl files of sentiment rows")
    splits: dict[str, list[dict[str, Any]]] = {}
    for split, paths in files.items():
        builder = TABLE_BUILDERS.get(paths[0].suffix)
        if builder is None:
            raise ValueError(f"{paths[0]}: expected one of {sorted(TABLE_BUILDERS)}")
        table = datasets.load_dataset(builder, data_files=[str(p) for p in paths], split="train")
        for row in table:
            target = row.get("split") or split
            splits.setdefault(SPLIT_ALIASES.get(target, target), []).append(row)
    return splits


def load_sentiment_features(path: str | os.PathLike) -> datasets.DatasetDict:
    """Your own features (a ``.npy`` folder with a labels table, or tables of rows) as a checked ``DatasetDict``."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"sentiment features {str(path)!r} do not exist")
    if is_npy_layout(path):
        return sentiment_dataset(read_npy_folder(path))
    return sentiment_dataset(_table_rows(path))


def save_sentiment_dataset(dataset: datasets.DatasetDict, output_dir: str | os.PathLike) -> list[Path]:
    """Write ``output_dir/data/{split}.parquet``, the layout of the release scripts (``hf-graph4mm train
    --dataset output_dir`` and ``datasets.load_dataset(output_dir)`` read it)."""
    folder = Path(output_dir) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for split, part in dataset.items():
        part.to_parquet(folder / f"{split}.parquet")
        written.append(folder / f"{split}.parquet")
    return written
