"""A release with an unexpected layout fails before generation, with the file and the expectation named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from PIL import Image

from hf_graph4mm.data.ele_fashion import (
    check_ele_fashion_release,
    load_ele_fashion,
    load_ele_fashion_graph_dataset,
)
from hf_graph4mm.testing.samples.ele_fashion import write_ele_fashion_sample

NUM_NODES = 22  # 11 classes x 2 products


@pytest.fixture
def release(tmp_path) -> Path:
    return write_ele_fashion_sample(tmp_path / "release", nodes_per_class=2, images_as="none", seed=1)


def _mapping(raw: Path) -> dict[str, int]:
    return torch.load(raw / "node_mapping.pt")


def _drop_first_text(raw: Path) -> None:
    text_file = raw / "raw-data" / "ele-fashion-raw-text.jsonl"
    first_raw_id = next(raw_id for raw_id, index in _mapping(raw).items() if index == 0)
    kept = [line for line in text_file.read_text().splitlines() if json.loads(line)["asin"] != first_raw_id]
    text_file.write_text("\n".join(kept) + "\n")


def _rename_text_ids(raw: Path) -> None:
    text_file = raw / "raw-data" / "ele-fashion-raw-text.jsonl"
    records = [json.loads(line) for line in text_file.read_text().splitlines()]
    text_file.write_text(
        "".join(
            json.dumps({"asin": f"X{i}", "raw_text": r["raw_text"]}) + "\n" for i, r in enumerate(records)
        )
    )


def _save(name: str, value):
    return lambda raw: torch.save(value(raw) if callable(value) else value, raw / name)


CASES = {
    "mapping given as {node index: ASIN}": (
        _save("node_mapping.pt", lambda raw: {index: raw_id for raw_id, index in _mapping(raw).items()}),
        r"node_mapping.pt: expected \{raw product id \(ASIN\): node index\} as released, got "
        r"\{node index: raw id\} \(e\.g\. \d+ -> 'B0\w+'\); invert the dict",
    ),
    "mapping values are not indices": (
        _save("node_mapping.pt", lambda raw: {raw_id: str(index) for raw_id, index in _mapping(raw).items()}),
        r"node_mapping.pt: raw id 'B0\w+' maps to '\d+'; expected an integer node index",
    ),
    "mapping is a list": (
        _save("node_mapping.pt", lambda raw: list(_mapping(raw))),
        r"node_mapping.pt: expected a dict \{raw id: node index\}, got list",
    ),
    "mapping misses a node": (
        _save("node_mapping.pt", lambda raw: {k: v for k, v in _mapping(raw).items() if v != 5}),
        rf"node_mapping.pt: 1 of the {NUM_NODES} nodes in labels-w-missing.pt have no raw id, e.g. node 5",
    ),
    "labels are a matrix": (
        _save("labels-w-missing.pt", torch.zeros(NUM_NODES, 3, dtype=torch.int64)),
        rf"labels-w-missing.pt: expected \[N\] class ids \(-1 = unlabelled\) of shape \[n\], got shape \({NUM_NODES}, 3\)",
    ),
    "labels are fractional": (
        _save("labels-w-missing.pt", torch.full((NUM_NODES,), 0.5)),
        r"labels-w-missing.pt: expected \[N\] class ids \(-1 = unlabelled\) as integers, got dtype float32",
    ),
    "split is a boolean mask": (
        _save(
            "split.pt",
            {"train_idx": torch.ones(NUM_NODES, dtype=torch.bool), "val_idx": [0], "test_idx": [1]},
        ),
        rf"split.pt: expected train_idx \(node indices\) as integers, got a boolean mask of shape \({NUM_NODES},\)",
    ),
    "split is a matrix": (
        _save(
            "split.pt", {"train_idx": torch.zeros(2, 3, dtype=torch.int64), "val_idx": [0], "test_idx": [1]}
        ),
        r"split.pt: expected train_idx \(node indices\) of shape \[n\], got shape \(2, 3\)",
    ),
    "split index out of range": (
        _save("split.pt", {"train_idx": [0], "val_idx": [0], "test_idx": [NUM_NODES]}),
        rf"split.pt: test_idx lists node {NUM_NODES}, outside the {NUM_NODES} nodes",
    ),
    "split lacks a key": (
        _save("split.pt", {"train_idx": [0], "test_idx": [1]}),
        r"split.pt: no val_idx or valid_idx entry \(has: \['test_idx', 'train_idx'\]\)",
    ),
    "edge past the nodes": (
        _save("nc_edges-nodeid.pt", torch.tensor([[0, 1], [2, NUM_NODES + 3]])),
        rf"nc_edges-nodeid.pt: edge #1 \(2, {NUM_NODES + 3}\) points past the {NUM_NODES} nodes "
        rf"\(expected node indices in 0..{NUM_NODES - 1}",
    ),
    "negative edge": (
        _save("nc_edges-nodeid.pt", torch.tensor([[0, 1], [-1, 2]])),
        r"nc_edges-nodeid.pt: edge #1 \(-1, 2\) has a negative node index",
    ),
    "edges with three columns": (
        _save("nc_edges-nodeid.pt", torch.zeros(4, 3, dtype=torch.int64)),
        r"nc_edges-nodeid.pt: expected an \[E, 2\] edge list, got shape \(4, 3\)",
    ),
    "edges as a dict": (
        _save("nc_edges-nodeid.pt", {"edge_index": torch.zeros(2, 4, dtype=torch.int64)}),
        r"nc_edges-nodeid.pt: expected an \[E, 2\] edge list of node indices as a tensor or array, got a dict",
    ),
    "product missing from the text file": (
        _drop_first_text,
        r"node 0 \(raw id 'B0\w+'\) has no text in ele-fashion-raw-text.jsonl and no image",
    ),
    "text file from another id scheme": (
        _rename_text_ids,
        r"ele-fashion-raw-text.jsonl: none of its 22 product ids is a key of node_mapping.pt "
        r"\(e\.g\. 'X0' in the text file, 'B0\w+' in the mapping\)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layout_error_is_raised_before_generation_and_names_the_file(release, tmp_path, case):
    damage, message = CASES[case]
    damage(release)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match=message):
        check_ele_fashion_release(release)
    for load in (load_ele_fashion, load_ele_fashion_graph_dataset):
        try:
            load(release, cache_dir=cache)
        except datasets.exceptions.DatasetGenerationError as error:  # the generic wrapper of issue 14
            pytest.fail(f"{load.__name__}: error surfaced during generation: {error.__cause__!r}")
        except ValueError as error:
            assert re.search(message, str(error)), (load.__name__, str(error))
        else:
            pytest.fail(f"{load.__name__} accepted a release with {case}")
    assert not list(cache.rglob("*.arrow")), "nothing may be generated from a malformed release"


def test_node_without_text_is_accepted_when_images_can_cover_it(release, tmp_path):
    """With images in use the examples config defers to the graph config, which checks each image."""
    _drop_first_text(release)
    (release / "raw-data" / "ele-fashion-images").mkdir()
    with pytest.raises(ValueError, match=r"node 0 \(raw id 'B0\w+'\) has no text .* and no image"):
        load_ele_fashion_graph_dataset(release, cache_dir=tmp_path / "cache")
    check_ele_fashion_release(release)  # images="auto" and a folder: not an error yet
    raw_id = next(raw_id for raw_id, index in _mapping(release).items() if index == 0)
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(
        release / "raw-data" / "ele-fashion-images" / f"{raw_id}.jpg"
    )
    graph = load_ele_fashion_graph_dataset(release, cache_dir=tmp_path / "cache")[0]["graph"]
    assert graph["texts"][0] is None and graph["images"][0].endswith(f"{raw_id}.jpg")
    with pytest.raises(ValueError, match=r"node 0 .* has no text"):
        check_ele_fashion_release(release, images=False)


def test_valid_release_passes_the_check_and_counts_match(release):
    files = check_ele_fashion_release(release)
    assert files.labels.shape == (NUM_NODES,) and len(files.raw_ids) == NUM_NODES
    assert sorted(files.raw_ids) == sorted(_mapping(release))
    assert all(files.texts) and files.edges.shape[0] == 2 and files.edges.max() < NUM_NODES
    assert sum(part.size for part in files.splits.values()) == NUM_NODES
