"""What the dataset scripts write loads with plain ``datasets`` (folder and offline Hub cache), card = files.

The bare checks run in ``python -I`` with ``hf_graph4mm`` blocked. ``datasets`` 5.2 never reads
``HF_HOME/hub/datasets--*`` offline: ``dataset_module_factory`` raises on offline mode before
``hf_hub_download`` and falls back to ``CachedDatasetModuleFactory``, which reads the prepared
Arrow cache ``HF_DATASETS_CACHE/{org}___{name}/{config}/{version}/{hash}/``. That is what an
online ``load_dataset("org/name")`` leaves, so that is the cache seeded here.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml

from hf_graph4mm.data.ele_fashion import read_ele_fashion
from hf_graph4mm.data.mmsa.safe_pickle import safe_load_pickle
from hf_graph4mm.data.wikiweb2m import load_wikiweb2m
from hf_graph4mm.processing import MultimodalGraph
from hf_graph4mm.testing import run_without_package
from hf_graph4mm.testing.samples import SAMPLE_DATA
from hf_graph4mm.testing.samples.ele_fashion import SAMPLE_RAW_DIR
from hf_graph4mm.testing.samples.mmsa import SAMPLE_PICKLE, write_mmsa_pickle

REPO = Path(__file__).resolve().parents[2]
WIKIWEB2M_SAMPLE = SAMPLE_DATA / "wikiweb2m"

BARE_CHECK = r"""
import json, os, shutil, sys
from pathlib import Path

import datasets, yaml
import pyarrow.parquet as pq

out, repo_id = Path(sys.argv[1]), sys.argv[2]
cache = Path(os.environ["HF_DATASETS_CACHE"])
header = yaml.safe_load((out / "README.md").read_text(encoding="utf-8").split("---\n")[1])
infos = header["dataset_info"] if isinstance(header["dataset_info"], list) else [header["dataset_info"]]
infos = {info["config_name"]: info for info in infos}
assert set(infos) == {c["config_name"] for c in header["configs"]}, "one dataset_info per config"

# The folder as it will be pushed, named like the repo (what an online load names its cache after).
stage = out.parent / "stage" / repo_id.split("/")[1]
shutil.copytree(out, stage)
summary = {}
for config in header["configs"]:
    name = config["config_name"]
    card_features = datasets.Features._from_yaml_list(infos[name]["features"])
    card_sizes = {s["name"]: s["num_examples"] for s in infos[name]["splits"]}
    files = {entry["split"]: sorted(out.glob(entry["path"])) for entry in config["data_files"]}
    assert set(files) == set(card_sizes), (name, files, card_sizes)
    for split, paths in files.items():  # the card's schema is the files' schema
        assert paths, (name, split, "no file matches the card's data_files")
        for path in paths:
            assert datasets.Features.from_arrow_schema(pq.read_schema(path)) == card_features, (name, path)
    local = datasets.load_dataset(str(stage), name, cache_dir=str(cache))
    assert {s: d.num_rows for s, d in local.items()} == card_sizes, (name, local)
    assert all(d.features == card_features for d in local.values()), name
    summary[name] = {"sizes": card_sizes, "features": card_features.to_dict(), "rows": {}}

# Move the prepared Arrow cache to where load_dataset(repo_id) leaves it, then load offline.
org, repo_name = repo_id.split("/")
(cache / repo_name).rename(cache / f"{org}___{repo_name}")
for name in summary:
    hub = datasets.load_dataset(repo_id, name)
    local = datasets.load_dataset(str(stage), name, cache_dir=str(out.parent / "fresh-cache"))
    for split, part in hub.items():
        assert part.features == local[split].features and part.to_dict() == local[split].to_dict(), (name, split)
        summary[name]["rows"][split] = part[0]
assert "hf_graph4mm" not in sys.modules
print("SUMMARY" + json.dumps(summary, default=lambda value: value.tolist()))
"""


def _bare_check(out: Path, repo_id: str, tmp_path: Path) -> dict:
    hf_home = tmp_path / "hf_home"
    env = {
        "HF_HOME": str(hf_home),
        "HF_DATASETS_CACHE": str(hf_home / "datasets"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    }
    script = f"sys.argv = ['check', {str(out)!r}, {repo_id!r}]\n" + BARE_CHECK
    result = run_without_package(script, tmp_path, env)
    return json.loads(result.stdout.split("SUMMARY", 1)[1])


def _card_snippet(out: Path) -> str:
    blocks = re.findall(r"```python\n(.*?)```", (out / "README.md").read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1, "the card shows one loading snippet"
    assert str(out) in blocks[0], "the snippet names the dataset it documents"
    return blocks[0]


def test_wikiweb2m_card_and_parquet_load_without_the_package_and_graphs_decode(tmp_path, load_dataset_script):
    out = tmp_path / "out"
    argv = [
        "build",
        "--raw-dir",
        str(WIKIWEB2M_SAMPLE),
        "--output-dir",
        str(out),
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    assert load_dataset_script("wikiweb2m").main(argv) == 0
    original = load_wikiweb2m(WIKIWEB2M_SAMPLE, cache_dir=tmp_path / "c")

    summary = _bare_check(out, "org/wikiweb2m-graphs", tmp_path)
    assert summary["default"]["sizes"] == {"train": 21, "validation": 3, "test": 8}
    assert datasets.Features.from_dict(summary["default"]["features"]) == original["train"].features
    assert summary["default"]["rows"]["test"] == original["test"][0]

    namespace: dict = {}
    exec(_card_snippet(out), namespace)  # noqa: S102 - the card's own snippet, against the written folder
    expected = MultimodalGraph.from_dict(original["train"][0]["graph"])
    graph = namespace["graph"]
    assert (
        isinstance(graph, MultimodalGraph)
        and graph.texts == expected.texts
        and graph.images == expected.images
    )
    np.testing.assert_array_equal(graph.edge_index, expected.edge_index)
    assert namespace["target"] == original["train"][0]["target_node"]


def test_ele_fashion_configs_load_without_the_package_and_the_graph_decodes(tmp_path, load_dataset_script):
    out = tmp_path / "out"
    argv = ["--raw-dir", str(SAMPLE_RAW_DIR), "--output-dir", str(out), "--seen-classes", "0,1,2,3,4,5",
            "--cache-dir", str(tmp_path / "c")]  # fmt: skip
    assert load_dataset_script("ele_fashion").main(argv) == 0
    release = read_ele_fashion(SAMPLE_RAW_DIR)

    summary = _bare_check(out, "org/ele-fashion", tmp_path)
    assert summary["graph"]["sizes"] == {"graph": 1}
    labelled = {split: int((release.labels[idx] >= 0).sum()) for split, idx in release.splits.items()}
    sizes = summary["default"]["sizes"]
    assert sizes["validation"] == labelled["validation"] and sizes["test"] == labelled["test"]
    assert 0 < sizes["train"] < labelled["train"]  # unseen classes are held out of training
    label = datasets.Features.from_dict(summary["default"]["features"])["label"]
    assert label.names == list(release.label_names)  # the ClassLabel survives the round trip
    bare_graph = summary["graph"]["rows"]["graph"]["graph"]
    assert bare_graph["texts"] == release.graph.texts and bare_graph["node_ids"] == release.graph.node_ids

    namespace: dict = {}
    exec(_card_snippet(out), namespace)  # noqa: S102 - the card's own snippet, against the written folder
    graph = namespace["graph"]
    assert graph.texts == release.graph.texts and graph.images == release.graph.images
    assert graph.labels == release.graph.labels and not graph.directed
    np.testing.assert_array_equal(graph.edge_index, release.graph.edge_index)
    assert namespace["node_text"] == release.graph.texts[namespace["row"]["target_node"]]


def test_mmsa_parquet_loads_without_the_package_and_feeds_torch(tmp_path, load_dataset_script):
    import torch

    out = tmp_path / "out"
    argv = ["--raw-dir", str(SAMPLE_PICKLE), "--output-dir", str(out), "--cache-dir", str(tmp_path / "c")]
    assert load_dataset_script("mmsa").main(argv) == 0
    header = yaml.safe_load((out / "README.md").read_text().split("---\n")[1])
    assert header["pretty_name"].startswith("CMU-MOSI")

    summary = _bare_check(out, "org/mosi", tmp_path)
    assert summary["default"]["sizes"] == {"train": 24, "validation": 8, "test": 8}
    features = datasets.Features.from_dict(summary["default"]["features"])
    assert features["audio_features"].shape == (20, 5) and features["vision_features"].shape == (24, 20)
    assert np.isfinite(summary["default"]["rows"]["train"]["audio_features"]).all()  # -inf was replaced

    namespace: dict = {}
    exec(_card_snippet(out), namespace)  # noqa: S102 - the card's own snippet, against the written folder
    batch = namespace["batch"]
    assert batch["audio_features"].shape == (4, 20, 5) and batch["labels"].dtype == torch.float32

    # An aligned pickle without a test split: the card lists only the splits written.
    partial = tmp_path / "raw" / "aligned_50.pkl"
    write_mmsa_pickle(partial, sizes=(4, 2, 2), text_shape=(3, 8), audio_shape=(3, 2), vision_shape=(3, 2))
    content = safe_load_pickle(partial)
    del content["test"]
    partial.write_bytes(pickle.dumps(content))
    argv = [
        "--raw-dir",
        str(partial),
        "--output-dir",
        str(tmp_path / "partial"),
        "--cache-dir",
        str(tmp_path / "c2"),
    ]
    assert load_dataset_script("mmsa").main(argv) == 0
    reloaded = datasets.load_dataset(str(tmp_path / "partial"), cache_dir=str(tmp_path / "pq"))
    assert {s: d.num_rows for s, d in reloaded.items()} == {"train": 4, "validation": 2}


@pytest.mark.parametrize("script", ["ele_fashion", "mmsa", "wikiweb2m"])
def test_card_template_declares_configs_and_leaves_dataset_info_to_the_data(script):
    header = yaml.safe_load(
        (REPO / "dataset_scripts" / "cards" / f"{script}.md").read_text().split("---\n")[1]
    )
    assert header["configs"] and "dataset_info" not in header
