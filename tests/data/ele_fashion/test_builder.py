"""Ele-Fashion (MM-Graph release layout) -> graph stored once + per-split target-node examples."""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile
import zipfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from hf_graph4mm.data.ele_fashion import (
    DEFAULT_LABEL_NAMES,
    ele_fashion_graph,
    load_ele_fashion,
    load_ele_fashion_graph_dataset,
    read_ele_fashion,
)
from hf_graph4mm.processing import extract_subgraph
from hf_graph4mm.testing.samples.ele_fashion import SAMPLE_RAW_DIR, write_ele_fashion_sample

# A hand-made release: 6 products. Node index -> raw id is deliberately not sorted.
RAW_IDS = ["B0F", "B0A", "B0E", "B0B", "B0D", "B0C"]
TEXTS = ["red dress", "usb charger", "black jacket", "phone case", "running sneakers", "smart watch"]
LABELS = [0, 1, -1, 2, 0, 1]
EDGES = [[0, 1], [1, 2], [3, 4]]  # [E, 2] as released
SPLIT = {"train_idx": [0, 1, 2], "val_idx": [3], "test_idx": [4, 5]}
WITH_IMAGE = {0, 3}


def _jpeg(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def release(tmp_path) -> Path:
    raw = tmp_path / "ele-fashion"
    (raw / "raw-data" / "ele-fashion-images").mkdir(parents=True)
    torch.save(torch.tensor(EDGES), raw / "nc_edges-nodeid.pt")
    torch.save(torch.tensor(LABELS), raw / "labels-w-missing.pt")
    torch.save({key: torch.tensor(value) for key, value in SPLIT.items()}, raw / "split.pt")
    torch.save({raw_id: index for index, raw_id in enumerate(RAW_IDS)}, raw / "node_mapping.pt")
    with open(raw / "raw-data" / "ele-fashion-raw-text.jsonl", "w") as handle:
        for index in (5, 3, 1, 0, 2, 4):  # file order differs from node order
            handle.write(json.dumps({"id": RAW_IDS[index], "text": TEXTS[index]}) + "\n")
    for index in WITH_IMAGE:
        (raw / "raw-data" / "ele-fashion-images" / f"{RAW_IDS[index]}.jpg").write_bytes(
            _jpeg((index * 40, 0, 0))
        )
    return raw


def test_graph_is_read_in_node_order_with_images_and_undirected_edges(release):
    parsed = read_ele_fashion(release)
    graph = parsed.graph
    assert graph.num_nodes == 6 and graph.num_edges == 3 and not graph.directed
    assert graph.texts == TEXTS and graph.node_ids == RAW_IDS and graph.labels == LABELS
    assert [image is not None for image in graph.images] == [i in WITH_IMAGE for i in range(6)]
    assert Path(graph.images[3]).name == "B0B.jpg"
    assert parsed.num_missing_images == 4
    np.testing.assert_array_equal(graph.edge_index, np.array(EDGES).T)
    assert sorted(graph.csr[1].indices.tolist()) == [0, 2]  # node 1 is reached from both sides
    assert parsed.label_names == DEFAULT_LABEL_NAMES and len(DEFAULT_LABEL_NAMES) == 11

    text_only = read_ele_fashion(release, images=False).graph
    assert text_only.images == [None] * 6 and text_only.texts == TEXTS


def test_splits_follow_the_zero_shot_protocol(release, tmp_path):
    names = ["dress", "charger", "case"] + [f"extra {i}" for i in range(8)]
    dataset = load_ele_fashion(
        release, seen_classes="dress,charger", label_names=names, cache_dir=tmp_path / "c"
    )
    # Hand-derived: train keeps labelled seen-class nodes (node 2 is unlabelled), evaluation
    # splits keep every labelled node with its seen/unseen flag.
    assert dataset["train"]["node_index"] == [0, 1]
    assert dataset["validation"]["node_index"] == [3] and dataset["validation"]["is_seen_class"] == [False]
    assert dataset["test"]["node_index"] == [4, 5] and dataset["test"]["is_seen_class"] == [True, True]
    row = dataset["validation"][0]
    assert row["label_name"] == row["target_text"] == "case" and row["node_id"] == "B0B"
    assert row["target_node"] == 3 and row["id"] == "ele-fashion-3"
    assert dataset["train"].features["label"].names == names

    everything = load_ele_fashion(release, cache_dir=tmp_path / "c")  # seen_classes=None: all classes seen
    assert everything["train"]["node_index"] == [0, 1] and everything["validation"]["is_seen_class"] == [True]
    assert everything["test"]["label_name"] == ["class 0", "class 1"]

    unseen_train = load_ele_fashion(release, seen_classes=[1, 2], cache_dir=tmp_path / "c")
    assert unseen_train["train"]["node_index"] == [1]


def test_graph_dataset_round_trips_and_subgraphs_come_from_the_stored_graph(release, tmp_path):
    graph_dataset = load_ele_fashion_graph_dataset(release, cache_dir=tmp_path / "c")
    assert graph_dataset.num_rows == 1
    rebuilt = ele_fashion_graph(graph_dataset)
    original = ele_fashion_graph(release)
    assert rebuilt.texts == original.texts and rebuilt.images == original.images
    assert rebuilt.node_ids == original.node_ids and rebuilt.labels == original.labels
    np.testing.assert_array_equal(rebuilt.edge_index, original.edge_index)
    subgraph = extract_subgraph(rebuilt, 0, num_hops=2)
    assert subgraph.text.nodes.tolist() == [0, 1, 2]  # target first, then hop 1, then hop 2


def test_numpy_edges_in_either_orientation_and_image_tar(release, tmp_path):
    torch.save(np.array(EDGES).T.copy(), release / "nc_edges-nodeid.pt")  # [2, E] numpy array
    np.testing.assert_array_equal(read_ele_fashion(release).graph.edge_index, np.array(EDGES).T)

    sample = write_ele_fashion_sample(tmp_path / "tarred", nodes_per_class=3, images_as="tar", seed=3)
    tar_path = sample / "raw-data" / "ele-fashion-images.tar"
    with tarfile.open(tar_path) as archive:
        members = {Path(m.name).stem for m in archive.getmembers() if m.isfile()}
    assert not (sample / "raw-data" / "ele-fashion-images").exists()
    graph = read_ele_fashion(sample).graph  # extracts the tar next to itself
    assert {node_id for node_id, image in zip(graph.node_ids, graph.images) if image} == members
    assert all(os.path.isfile(image) for image in graph.images if image)


def test_pt_written_under_numpy_1_is_accepted(release, tmp_path):
    """numpy 1 pickles name ``numpy.core.multiarray._reconstruct``; rewrite a numpy 2 file that way."""
    modern = tmp_path / "modern.pt"
    torch.save(np.array(EDGES), modern)
    with zipfile.ZipFile(modern) as source, zipfile.ZipFile(release / "nc_edges-nodeid.pt", "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith("data.pkl"):
                assert b"numpy._core.multiarray" in data
                data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
            target.writestr(item, data)
    np.testing.assert_array_equal(read_ele_fashion(release).graph.edge_index, np.array(EDGES).T)


def test_tar_member_escaping_the_folder_is_refused(tmp_path):
    sample = write_ele_fashion_sample(tmp_path / "evil", nodes_per_class=2, images_as="none")
    with tarfile.open(sample / "raw-data" / "ele-fashion-images.tar", "w") as archive:
        data = _jpeg((0, 0, 0))
        info = tarfile.TarInfo("../../escaped.jpg")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with pytest.raises(ValueError, match="ele-fashion-images.tar: cannot extract"):
        read_ele_fashion(sample)
    assert not (tmp_path / "escaped.jpg").exists()


def _append(path: Path, text: str) -> None:
    with open(path, "a") as handle:
        handle.write(text)


class _Shell:
    def __reduce__(self):
        return (os.system, ("echo should-not-run",))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: torch.save(torch.tensor([[0, 1], [1, 9]]), raw / "nc_edges-nodeid.pt"),
         r"nc_edges-nodeid.pt: .*edge #1 \(1, 9\) points past the 6 nodes"),
        (lambda raw: torch.save({"B0F": 0, "B0A": 0}, raw / "node_mapping.pt"), "both map to node 0"),
        (lambda raw: torch.save({"train_idx": [0], "val_idx": [7], "test_idx": []}, raw / "split.pt"),
         "val_idx lists node 7, outside the 6 nodes"),
        (lambda raw: torch.save({"train_idx": [0], "test_idx": []}, raw / "split.pt"), "no val_idx or valid_idx"),
        (lambda raw: torch.save(torch.tensor([0, 1, -1, 11, 0, 1]), raw / "labels-w-missing.pt"),
         "labels go up to 11 but only 11 label names"),
        (lambda raw: (raw / "split.pt").write_bytes(pickle.dumps(_Shell())), r"split.pt: cannot be read with torch.load\(weights_only=True\)"),
        (lambda raw: torch.save({"train_idx": _Shell()}, raw / "split.pt"), r"split.pt: .*forbidden globals \['(posix|nt)\.system'\]"),
        (lambda raw: (raw / "node_mapping.pt").unlink(), "node_mapping.pt not found in"),
        (lambda raw: _append(raw / "raw-data" / "ele-fashion-raw-text.jsonl", "{not json\n"),
         "ele-fashion-raw-text.jsonl, line 7: not valid JSON"),
    ],
)  # fmt: skip
def test_malformed_release_names_the_file_and_item(release, damage, message, capfd):
    damage(release)
    with pytest.raises(ValueError, match=message):
        read_ele_fashion(release)
    assert "should-not-run" not in capfd.readouterr().out


def test_node_without_text_or_image_is_an_error_naming_it(release):
    lines = (release / "raw-data" / "ele-fashion-raw-text.jsonl").read_text().splitlines()
    kept = [line for line in lines if json.loads(line)["id"] != "B0E"]
    (release / "raw-data" / "ele-fashion-raw-text.jsonl").write_text("\n".join(kept) + "\n")
    with pytest.raises(ValueError, match=r"node 2 \(raw id 'B0E'\) has no text"):
        read_ele_fashion(release)


def test_images_required_but_absent_is_an_error(release):
    for path in (release / "raw-data" / "ele-fashion-images").iterdir():
        path.unlink()
    (release / "raw-data" / "ele-fashion-images").rmdir()
    with pytest.raises(ValueError, match="images=True but no ele-fashion-images/ or ele-fashion-images.tar"):
        read_ele_fashion(release, images=True)
    assert read_ele_fashion(release).num_missing_images == 0  # "auto": text-only, nothing missing


def test_bundled_sample_matches_its_generator_and_the_protocol(tmp_path):
    regenerated = write_ele_fashion_sample(tmp_path / "again")
    committed = sorted(p.relative_to(SAMPLE_RAW_DIR) for p in SAMPLE_RAW_DIR.rglob("*") if p.is_file())
    assert committed == sorted(p.relative_to(regenerated) for p in regenerated.rglob("*") if p.is_file())
    for relative in committed:
        assert (SAMPLE_RAW_DIR / relative).read_bytes() == (regenerated / relative).read_bytes(), relative
    assert sum((SAMPLE_RAW_DIR / r).stat().st_size for r in committed) < 1024 * 1024

    parsed = read_ele_fashion(SAMPLE_RAW_DIR)
    labels = np.array(parsed.graph.labels)
    assert parsed.graph.num_nodes == 88 and len(parsed.label_names) == 11 and (labels == -1).any()
    assert 0 < parsed.num_missing_images < 88 and all(parsed.graph.texts)
    dataset = load_ele_fashion(SAMPLE_RAW_DIR, seen_classes=range(6), cache_dir=tmp_path / "c")
    for split, indices in parsed.splits.items():
        labelled = [i for i in indices.tolist() if labels[i] >= 0 and (split != "train" or labels[i] < 6)]
        assert sorted(dataset[split]["node_index"]) == sorted(labelled)
    # Texts name their class, so the class is learnable from the node itself.
    for node, label in enumerate(labels):
        if label >= 0:
            assert parsed.label_names[label] in parsed.graph.texts[node]


def test_script_writes_both_configs_and_card_and_pushes(release, tmp_path, load_dataset_script):
    import datasets
    from huggingface_hub import HfApi

    names_file = tmp_path / "names.json"
    names_file.write_text(json.dumps(["dress", "charger", "case"] + [f"extra {i}" for i in range(8)]))
    out = tmp_path / "out"
    argv = ["--raw-dir", str(release), "--output-dir", str(out), "--seen-classes", "0,1",
            "--label-names", str(names_file), "--cache-dir", str(tmp_path / "c"), "--push-to-hub", "org/ele"]  # fmt: skip
    with (
        mock.patch.object(HfApi, "create_repo") as create_repo,
        mock.patch.object(HfApi, "create_commit") as create_commit,
    ):
        assert load_dataset_script("ele_fashion").main(argv) == 0
    assert create_repo.call_args.args[0] == "org/ele"
    uploaded = {op.path_in_repo for op in create_commit.call_args.kwargs["operations"]}
    assert uploaded == {"README.md", "graph/graph.parquet"} | {
        f"data/{s}.parquet" for s in ("train", "validation", "test")
    }

    header = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    assert {c["config_name"] for c in header["configs"]} == {"default", "graph"}
    assert "graph-ml" in header["task_categories"] and header["pretty_name"]
    examples = datasets.load_dataset(str(out))
    assert {s: d.num_rows for s, d in examples.items()} == {"train": 2, "validation": 1, "test": 2}
    assert examples["validation"][0]["label_name"] == "case"
    graph = ele_fashion_graph(datasets.load_dataset(str(out), "graph"))
    assert graph.texts == TEXTS and graph.num_edges == 3


def test_make_sample_data_reproduces_the_committed_samples(tmp_path, capsys, load_dataset_script):
    script = load_dataset_script("make_sample_data")
    assert script.main(["--out-dir", str(tmp_path), "--only", "ele_fashion", "mmsa"]) == 0
    for name in ("ele_fashion", "mmsa"):
        committed = script.SAMPLE_DATA / name
        files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
        assert files == sorted(
            p.relative_to(tmp_path / name) for p in (tmp_path / name).rglob("*") if p.is_file()
        )
        assert all((committed / f).read_bytes() == (tmp_path / name / f).read_bytes() for f in files)
    # A dataset whose writer cannot be imported is reported, not silently skipped.
    with mock.patch.dict(script.WRITERS, {"wikiweb2m": lambda: None}):
        assert script.main(["--out-dir", str(tmp_path / "partial"), "--only", "wikiweb2m"]) == 1
    assert "wikiweb2m: skipped" in capsys.readouterr().err
