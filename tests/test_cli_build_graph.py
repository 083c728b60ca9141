"""hf-graph4mm build-graph: tables with the user's own column names, the command's errors."""

import json

import pytest

from hf_graph4mm.cli import main
from hf_graph4mm.data.user_graph import load_graph_dataset
from hf_graph4mm.testing.user_graphs import write_images


def test_own_column_names_string_ids_and_a_verbaliser_file(tmp_path, capsys):
    images = write_images(tmp_path / "images")
    (tmp_path / "products.csv").write_text(
        "asin,title,photo,category,part\n"
        "B01,Boots,img0.png,shoe,train\nB02,Cap,,hat,train\nB03,Sneakers,img1.png,shoe,test\nB04,42,,hat,test\n"
    )
    (tmp_path / "links.jsonl").write_text(
        json.dumps({"src": "B01", "dst": "B03"}) + "\n" + json.dumps({"src": "B02", "dst": "B04"}) + "\n"
    )
    (tmp_path / "verbalizers.json").write_text(json.dumps({"shoe": "a pair of shoes"}))
    code = main([
        "build-graph", "--nodes", str(tmp_path / "products.csv"), "--edges", str(tmp_path / "links.jsonl"),
        "--images-dir", str(images), "--output", str(tmp_path / "out"), "--string-ids",
        "--node-columns", "id=asin,text=title,image=photo,label=category,split=part",
        "--edge-columns", "source=src,target=dst", "--verbalizers", str(tmp_path / "verbalizers.json"),
    ])  # fmt: skip
    assert code == 0 and "wrote train: 2, test: 2 examples" in capsys.readouterr().out
    examples, graph = load_graph_dataset(tmp_path / "out")
    assert graph.node_ids == ["B01", "B02", "B03", "B04"] and graph.edge_index.tolist() == [[0, 1], [2, 3]]
    assert graph.texts[3] == "42"  # a text column stays text in a CSV
    assert examples["test"]["target_text"] == ["a pair of shoes", "hat"]


def test_unknown_column_role_is_named(tmp_path):
    (tmp_path / "n.csv").write_text("id,text,label\n1,a,x\n")
    with pytest.raises(SystemExit, match=r"--node-columns 'name=title': expected ROLE=NAME pairs"):
        main(
            [
                "build-graph",
                "--nodes",
                str(tmp_path / "n.csv"),
                "--output",
                str(tmp_path / "o"),
                "--node-columns",
                "name=title",
            ]
        )
