"""dataset_scripts/sentiment_features.py: own features -> parquet + card that plain `datasets` loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np

from hf_graph4mm.testing.sentiment_features import ragged_sentiment_rows, split_rows, write_sentiment_npy

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_script_writes_parquet_and_a_card_plain_datasets_loads(tmp_path):
    splits = split_rows(ragged_sentiment_rows(8, seed=5))
    write_sentiment_npy(tmp_path / "npy", splits)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "dataset_scripts" / "sentiment_features.py"), "--input",
         str(tmp_path / "npy"), "--output-dir", str(tmp_path / "out"), "--name", "Mine"],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    assert "Mine" in (tmp_path / "out" / "README.md").read_text()
    loaded = datasets.load_dataset(str(tmp_path / "out"), cache_dir=str(tmp_path / "cache")).with_format(
        "numpy"
    )
    assert {name: part.num_rows for name, part in loaded.items()} == {"train": 6, "test": 2}
    for split, rows in splits.items():
        for index, row in enumerate(rows):
            stored = loaded[split][index]
            assert stored["id"] == row["id"] and stored["labels"] == np.float32(row["label"])
            for modality in ("text", "audio", "vision"):
                np.testing.assert_array_equal(stored[f"{modality}_features"], row[modality])
                assert stored[f"{modality}_lengths"] == len(row[modality])
