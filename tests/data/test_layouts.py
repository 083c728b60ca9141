"""data/layouts.open_dataset (the one loader of train, evaluate and predict) and data/references: every
layout our scripts write, user layouts, missing paths and the Hub offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pytest

from hf_graph4mm.data.layouts import open_dataset
from hf_graph4mm.data.references import HubUnavailableError, reads_as_path, resolve_reference
from hf_graph4mm.data.sentiment import save_sentiment_dataset
from hf_graph4mm.testing.samples import SAMPLE_DATA
from hf_graph4mm.testing.sentiment_features import ragged_sentiment_rows, split_rows, write_sentiment_npy

REPO_ROOT = Path(__file__).resolve().parents[2]


def graph_rows(count: int) -> list[dict]:
    graph = json.dumps({"texts": ["a", "b"], "images": [None, None], "edges": [[0, 1]]})
    return [{"id": i, "graph": graph, "target_node": i % 2, "target_text": f"t{i}"} for i in range(count)]


def write_release_folder(
    folder: Path, splits: dict[str, list[dict]], pattern: str = "{split}.parquet"
) -> Path:
    (folder / "data").mkdir(parents=True)
    for split, rows in splits.items():
        datasets.Dataset.from_list(rows).to_parquet(folder / "data" / pattern.format(split=split))
    return folder


@pytest.mark.parametrize("pattern", ["{split}.parquet", "{split}-00000-of-00001.parquet"])
def test_release_parquet_folders_read_by_split(tmp_path, pattern):
    folder = write_release_folder(tmp_path / "out", {"train": graph_rows(3), "valid": graph_rows(2)}, pattern)
    source = open_dataset(str(folder), family="graph4mm")
    assert {name: len(part) for name, part in source.splits.items()} == {"train": 3, "validation": 2}
    assert source.shared_graph is None
    assert source.split("train")[0]["target_text"] == "t0"


def test_save_to_disk_folders_and_single_files(tmp_path):
    dataset = datasets.DatasetDict({"train": datasets.Dataset.from_list(graph_rows(4))})
    dataset.save_to_disk(str(tmp_path / "dict"))
    dataset["train"].save_to_disk(str(tmp_path / "one"))
    dataset["train"].to_json(tmp_path / "rows.jsonl")
    for name in ("dict", "one", "rows.jsonl"):
        source = open_dataset(str(tmp_path / name), family="graph4mm")
        assert list(source.splits) == ["train"] and len(source.split("test")) == 4  # one split: any name


def test_a_split_column_splits_a_single_file(tmp_path):
    rows = [{**row, "split": split} for row, split in zip(graph_rows(4), ["train", "train", "test", "dev"])]
    datasets.Dataset.from_list(rows).to_parquet(tmp_path / "all.parquet")
    source = open_dataset(str(tmp_path / "all.parquet"))
    assert {name: len(part) for name, part in source.splits.items()} == {
        "train": 2,
        "test": 1,
        "validation": 1,
    }


def test_ele_fashion_script_output_gives_rows_and_the_shared_graph(tmp_path):
    output = tmp_path / "ele"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "dataset_scripts" / "ele_fashion.py"), "--raw-dir",
         str(SAMPLE_DATA / "ele_fashion"), "--output-dir", str(output), "--cache-dir", str(tmp_path / "cache")],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    source = open_dataset(str(output), family="graph4mm")
    assert (output / "graph" / "graph.parquet").is_file()
    assert source.shared_graph is not None and "graph" not in source.splits["train"].column_names
    reference = datasets.load_dataset(
        "parquet", data_files=str(output / "graph" / "graph.parquet"), split="train"
    )
    assert source.shared_graph.num_nodes == len(reference[0]["graph"]["texts"])
    assert max(source.splits["train"]["target_node"]) < source.shared_graph.num_nodes


def test_sentiment_npy_folder_and_its_parquet_copy_read_the_same(tmp_path):
    splits = split_rows(ragged_sentiment_rows(8, seed=1))
    folder = write_sentiment_npy(tmp_path / "npy", splits)
    source = open_dataset(str(folder), family="gsit")
    assert source.layout == "sentiment .npy folder"
    first = source.splits["train"].with_format("numpy")[0]
    np.testing.assert_array_equal(first["audio_features"], splits["train"][0]["audio"])
    assert first["audio_lengths"] == len(splits["train"][0]["audio"])
    assert first["labels"] == pytest.approx(splits["train"][0]["label"])
    save_sentiment_dataset(source.splits, tmp_path / "release")
    again = open_dataset(str(tmp_path / "release"), family="gsit").splits["test"].with_format("numpy")
    np.testing.assert_array_equal(again[1]["vision_features"], splits["test"][1]["vision"])


def test_missing_paths_are_errors_never_hub_ids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    for name in ("./nope", "outputs/run", "a/b/c", "data.parquet", str(tmp_path / "gone")):
        assert reads_as_path(name)
        with pytest.raises(FileNotFoundError, match="no such file or folder"):
            resolve_reference(name, what="--model")
        with pytest.raises(FileNotFoundError, match="no such file or folder"):
            open_dataset(name, family="gsit")
    assert not reads_as_path("org/name") and not reads_as_path("gpt2")


def test_hub_ids_offline_fail_at_once_saying_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        HubUnavailableError, match=r"--dataset 'someone/no-such-data' .*HF_HUB_OFFLINE=1 is set.*hf download"
    ):
        open_dataset("someone/no-such-data", family="gsit")
    with pytest.raises(HubUnavailableError, match=r"--model 'someone/no-such-model' .*HF_HUB_OFFLINE=1"):
        resolve_reference("someone/no-such-model", what="--model")


def test_named_sources_of_the_other_family_are_refused():
    with pytest.raises(ValueError, match="'mmsa' is a GsiT source"):
        open_dataset("mmsa", family="graph4mm")


def test_save_to_disk_folder_with_its_shared_graph_beside(tmp_path):
    from hf_graph4mm.processing import MultimodalGraph

    graph = MultimodalGraph(texts=["a", "b", "c"], images=[None, None, None], edges=[(0, 1), (1, 2)])
    rows = [{"id": str(i), "target_node": i, "target_text": f"t{i}"} for i in range(3)]
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "out"))
    datasets.Dataset.from_list([{"graph": graph.to_dict()}]).save_to_disk(str(tmp_path / "out" / "graph"))
    source = open_dataset(str(tmp_path / "out"), family="graph4mm")
    assert source.shared_graph.texts == graph.texts
    assert source.shared_graph.edge_index.tolist() == graph.edge_index.tolist()


def test_without_a_network_a_hub_id_fails_at_once(monkeypatch):
    from hf_graph4mm.data import references

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setattr(references, "_probe_result", {})
    with pytest.raises(HubUnavailableError, match=r"'someone/no-such-data' .*127\.0\.0\.1 cannot be reached"):
        open_dataset("someone/no-such-data", family="graph4mm")
