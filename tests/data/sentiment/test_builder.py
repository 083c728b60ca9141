"""data/sentiment: users' .npy folders and tables read into the MMSA columns, every file and sequence checked."""

from __future__ import annotations

import numpy as np
import pytest

from hf_graph4mm.data.sentiment import load_sentiment_features, sentiment_dataset
from hf_graph4mm.testing.sentiment_features import (
    ragged_sentiment_rows,
    split_rows,
    write_sentiment_npy,
    write_sentiment_parquet,
)


def test_sentiment_reader_names_the_sample_and_file(tmp_path):
    splits = split_rows(ragged_sentiment_rows(4, seed=2))
    folder = write_sentiment_npy(tmp_path / "npy", splits)
    (folder / "audio" / "clip001.npy").unlink()
    with pytest.raises(ValueError, match=r"sample 'clip001': no audio features file .*clip001\.npy"):
        load_sentiment_features(folder)
    np.save(folder / "audio" / "clip001.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"sample 'clip001': .*not a plain numeric \.npy"):
        load_sentiment_features(folder)  # never unpickled
    np.save(folder / "audio" / "clip001.npy", np.full((6, 5), np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match=r"split 'train', sample 'clip001' .*audio holds NaN"):
        load_sentiment_features(folder)


def test_tables_of_ragged_rows_read_as_the_npy_folder(tmp_path):
    splits = split_rows(ragged_sentiment_rows(6, seed=4))
    from_npy = load_sentiment_features(write_sentiment_npy(tmp_path / "npy", splits)).with_format("numpy")
    from_table = load_sentiment_features(write_sentiment_parquet(tmp_path / "pq", splits)).with_format(
        "numpy"
    )
    assert (
        {k: len(v) for k, v in from_table.items()}
        == {k: len(v) for k, v in from_npy.items()}
        == {"train": 4, "test": 2}
    )
    for split in splits:
        for a, b in zip(from_npy[split], from_table[split]):
            assert a["id"] == b["id"] and a["labels"] == pytest.approx(b["labels"])
            for modality in ("text", "audio", "vision"):
                np.testing.assert_allclose(a[f"{modality}_features"], b[f"{modality}_features"], rtol=1e-6)


def test_widths_must_agree_across_rows_and_labels_are_required():
    rows = ragged_sentiment_rows(3, seed=6)
    rows[2] = {**rows[2], "vision": np.zeros((4, 2), dtype=np.float32)}
    with pytest.raises(
        ValueError,
        match=r"split 'train', sample 'clip002' .*vision has 2 features per step; the model expects 7",
    ):
        sentiment_dataset({"train": rows})
    with pytest.raises(ValueError, match=r"sample 'clip000' .* has no label"):
        sentiment_dataset({"train": [{k: v for k, v in rows[0].items() if k != "label"}]})
