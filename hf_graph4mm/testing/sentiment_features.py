"""Users' own sentiment features, written in the layouts :mod:`hf_graph4mm.data.sentiment` reads: ragged
``[time, dim]`` sequences per modality (seeded), as a parquet table per split or a folder of ``.npy`` files
with ``labels.csv``. Sized for :func:`~hf_graph4mm.testing.tiny_gsit_config`'s kernels (3 / 5 / 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .tiny import GSIT_DIMS

MODALITIES = ("text", "audio", "vision")


def ragged_sentiment_rows(count: int, seed: int = 0, dims: dict[str, int] | None = None) -> list[dict]:
    """``count`` rows ``{"id", "text", "audio", "vision", "label"}``: float32 ``[time, dim]`` arrays of 5-11
    steps (each modality its own length), labels in [-3, 3]."""
    dims = dict(GSIT_DIMS if dims is None else dims)
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(count):
        row = {"id": f"clip{index:03d}"}
        for modality in MODALITIES:
            steps = int(rng.integers(5, 12))
            row[modality] = rng.standard_normal((steps, dims[modality])).astype(np.float32)
        row["label"] = float(np.round(rng.uniform(-3, 3), 2))
        rows.append(row)
    return rows


def split_rows(rows: list[dict], test_share: float = 0.25) -> dict[str, list[dict]]:
    """The first ``1 - test_share`` of the rows as ``train``, the rest as ``test``."""
    cut = max(1, int(round(len(rows) * (1 - test_share))))
    return {"train": rows[:cut], "test": rows[cut:]}


def write_sentiment_parquet(folder: str | Path, splits: dict[str, list[dict]]) -> Path:
    """``folder/{split}.parquet``, features as nested lists (a ragged list column), as a user would write."""
    import pandas as pd

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        frame = pd.DataFrame(
            [{**row, **{m: row[m].tolist() for m in MODALITIES}} for row in rows],
            columns=["id", *MODALITIES, "label"],
        )
        frame.to_parquet(folder / f"{split}.parquet")
    return folder


def write_sentiment_npy(folder: str | Path, splits: dict[str, list[dict]]) -> Path:
    """``folder/{text,audio,vision}/<id>.npy`` and ``folder/labels.csv`` (``id,label,split``)."""
    folder = Path(folder)
    for modality in MODALITIES:
        (folder / modality).mkdir(parents=True, exist_ok=True)
    lines = ["id,label,split"]
    for split, rows in splits.items():
        for row in rows:
            for modality in MODALITIES:
                np.save(folder / modality / f"{row['id']}.npy", row[modality])
            lines.append(f"{row['id']},{row['label']},{split}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
