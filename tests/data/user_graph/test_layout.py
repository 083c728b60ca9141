"""The built dataset: the release scripts' layouts, read back, and the same examples either way."""

import json

import datasets
import numpy as np
import pytest

from hf_graph4mm.data.user_graph import Verbalizer, build_graph_dataset, load_graph_dataset, random_splits
from hf_graph4mm.testing import tiny_graph4mm
from hf_graph4mm.testing.user_graphs import COLOURS, png_bytes, shop_edges, shop_nodes, write_shop_tables

SPLIT_OF_NODE = ["train", "train", "validation", "train", "test", "train", "val", "test"]


def _nodes_with_splits():
    rows = shop_nodes(embed_images=True)
    for row, split in zip(rows, SPLIT_OF_NODE):
        row["split"] = split
    return rows


def test_shared_layout_is_the_ele_fashion_layout(tmp_path):
    out = tmp_path / "shop"
    built = build_graph_dataset(
        _nodes_with_splits(), shop_edges(), out, verbalizers={"shoe": "a pair of shoes"}
    )
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "README.md",
        "data/test.parquet",
        "data/train.parquet",
        "data/validation.parquet",
        "graph/graph.parquet",
        "labels.json",
    ]
    assert json.loads((out / "labels.json").read_text()) == {
        "label_names": ["hat", "shoe"],
        "verbalizers": ["hat", "a pair of shoes"],
    }
    # plain datasets reads it, as it reads dataset_scripts/ele_fashion.py's output
    rows = datasets.load_dataset(str(out))
    assert {split: rows[split]["node_index"] for split in rows} == {
        "train": [0, 1, 3, 5],
        "validation": [2, 6],
        "test": [4, 7],
    }
    assert rows["train"][1] == {
        "id": "shop-11",
        "node_index": 1,
        "node_id": "11",
        "target_node": 1,
        "target_text": "a pair of shoes",
        "label": 1,
        "label_name": "shoe",
    }
    assert rows["train"].features["label"].names == ["hat", "shoe"]
    examples, graph = load_graph_dataset(out)
    assert graph.num_nodes == 8 and graph.edge_index.T.tolist()[-1] == [0, 4]
    assert graph.node_ids == [str(10 + i) for i in range(8)] and graph.labels[1] == "shoe"
    assert graph.images[3]["bytes"] == png_bytes(COLOURS["img1.png"])
    assert graph.edge_relations == ["bought_with"] * 8
    assert built.examples["test"]["node_index"] == examples["test"]["node_index"]


def test_per_row_graphs_give_the_processor_the_same_examples(tmp_path):
    files = write_shop_tables(tmp_path / "tables")
    _, processor = tiny_graph4mm()  # num_hops 2
    shared = build_graph_dataset(files.nodes, files.edges, tmp_path / "shared", files.images_dir, seed=3)
    per_row = build_graph_dataset(
        files.nodes,
        files.edges,
        tmp_path / "rows",
        files.images_dir,
        seed=3,
        layout="per_row",
        format="arrow",
    )
    for split, rows in per_row.examples.items():
        assert rows["node_index"] == shared.examples[split]["node_index"]
        for row in rows:
            alone = processor.process_example(
                row["graph"], row["target_node"], target_text=row["target_text"]
            )
            whole = processor.process_example(shared.graph, row["node_index"], target_text=row["target_text"])
            assert alone.keys() == whole.keys()
            for key in alone:
                np.testing.assert_array_equal(np.asarray(alone[key]), np.asarray(whole[key]), err_msg=key)


def test_per_row_graph_is_the_hop_ball_in_node_order(tmp_path):
    rows = shop_nodes(embed_images=True)
    for row in rows:
        row["split"] = "train"
    built = build_graph_dataset(rows, shop_edges(), tmp_path / "out", layout="per_row", hops=1)
    row = built.examples["train"][4]  # node 4: neighbours 3, 5 and (chord) 0
    assert row["node_index"] == 4 and row["graph"]["node_ids"] == ["10", "13", "14", "15"]
    assert row["target_node"] == 2
    assert sorted(zip(row["graph"]["edge_source"], row["graph"]["edge_target"])) == [(0, 2), (1, 2), (2, 3)]
    examples, graph = load_graph_dataset(tmp_path / "out")
    assert graph is None and examples["train"][4]["graph"]["texts"][3] is None  # node 5: image only


def test_random_splits_are_seeded_and_sized():
    assert random_splits(10, (0.8, 0.1, 0.1), seed=0).count("train") == 8
    assert random_splits(10, (0.8, 0.1, 0.1), seed=0) == random_splits(10, (0.8, 0.1, 0.1), seed=0)
    assert random_splits(10, (0.8, 0.1, 0.1), seed=0) != random_splits(10, (0.8, 0.1, 0.1), seed=1)
    assert random_splits(2, (0.5, 0.25, 0.25), seed=0).count("train") >= 1
    with pytest.raises(ValueError, match="summing to 1"):
        random_splits(4, (0.5, 0.5, 0.5), seed=0)


def test_verbalizer_checks_and_class_ids():
    verbalizer = Verbalizer.from_labels([2, None, 0], label_names=["hat", "shoe", "sock"], template="a {}")
    assert verbalizer.texts == ("a hat", "a shoe", "a sock") and verbalizer.text_of(2) == "a sock"
    assert Verbalizer.from_labels([1, 0]).label_names == ("class 0", "class 1")
    with pytest.raises(ValueError, match=r"verbalisers must be distinct .* repeated: \['x'\]"):
        Verbalizer.build(["a", "b"], {"a": "x", "b": "x"})
    with pytest.raises(ValueError, match=r"verbalisers given for unknown labels \['hats'\]"):
        Verbalizer.build(["hat"], {"hats": "x"})
    with pytest.raises(ValueError, match="class id 3 has no name"):
        Verbalizer.from_labels([3], label_names=["a", "b"])


def test_a_shared_graph_too_big_to_embed_says_what_to_do(tmp_path, monkeypatch):
    from hf_graph4mm.data.user_graph import layout

    monkeypatch.setattr(layout, "MAX_SHARED_IMAGE_BYTES", 100)  # the shop's four PNGs are larger in all
    with pytest.raises(ValueError, match=r"embed .* GiB of images in one parquet row .* embed_images=False"):
        build_graph_dataset(shop_nodes(embed_images=True), shop_edges(), tmp_path / "out")
    files = write_shop_tables(tmp_path / "tables")
    kept = build_graph_dataset(
        files.nodes, files.edges, tmp_path / "paths", files.images_dir, embed_images=False
    )
    assert kept.graph.images[0] == str((files.images_dir / "img0.png").resolve())


def test_arrow_format_keeps_the_shared_graph_beside_the_rows(tmp_path):
    built = build_graph_dataset(_nodes_with_splits(), shop_edges(), tmp_path / "out", format="arrow")
    assert (tmp_path / "out" / "dataset_dict.json").is_file() and (tmp_path / "out" / "graph").is_dir()
    examples, graph = load_graph_dataset(tmp_path / "out")
    assert examples["test"]["node_index"] == [4, 7] and graph.to_dict() == built.graph.to_dict()
