"""Issue 27's done-means for graphs: from a fresh process, a user's graph from parquet tables with
images and one from a PyG Data are built, trained through the CLI and through Trainer, evaluated and
predicted (hf_graph4mm/testing/user_graph_journey.py runs the steps)."""

import json
import os
import subprocess
import sys

import pytest

from hf_graph4mm.data.user_graph import load_graph_dataset

pytest.importorskip("torch_geometric")


def test_own_graph_from_tables_and_pyg_to_trained_evaluated_and_predicted(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-m", "hf_graph4mm.testing.user_graph_journey", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads((tmp_path / "journey.json").read_text())
    assert sorted(report) == ["parquet/cli", "parquet/trainer", "pyg/cli", "pyg/trainer"]
    # the console command wrote the release scripts' shared-graph layout
    built = tmp_path / "shop-parquet"
    assert {p.relative_to(built).as_posix() for p in built.rglob("*.parquet")} == {
        "data/train.parquet",
        "data/test.parquet",
        "graph/graph.parquet",
    }
    for name, run in report.items():
        dataset, graph = load_graph_dataset(tmp_path / f"shop-{name.split('/')[0]}")
        test = dataset["test"]
        assert graph.num_nodes == 8 and len(test) == 4  # half of the 8 labelled nodes
        assert (tmp_path / f"model-{name.replace('/', '-')}" / "config.json").is_file()
        predictions = run["predictions"]
        assert [p["id"] for p in predictions] == test["id"]
        for prediction in predictions:
            assert sorted(prediction["labels"]) == ["hat", "shoe"]
            assert sum(prediction["scores"]) == pytest.approx(1.0)
        # evaluate ranks the same verbalisers after the same stored prompt as the pipeline
        agreeing = [p["labels"][0] == truth for p, truth in zip(predictions, test["label_name"])]
        assert run["metrics"]["num_samples"] == 4
        assert run["metrics"]["accuracy"] == pytest.approx(sum(agreeing) / 4)
