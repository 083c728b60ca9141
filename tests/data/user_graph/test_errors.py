"""Bad tables are refused before anything is written, naming the file, row and value."""

import json

import pytest

from hf_graph4mm.data.user_graph import build_graph_dataset, graph_from_tables
from hf_graph4mm.testing.user_graphs import shop_edges, shop_nodes, write_images


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_float_node_id_in_a_csv_is_named(tmp_path):
    (tmp_path / "nodes.csv").write_text("id,text\n0,a\n1.5,b\n")
    with pytest.raises(
        ValueError, match=r"nodes.csv row 1: node id 1.5 is a float; node ids must be integers"
    ):
        graph_from_tables(tmp_path / "nodes.csv")


def test_whole_floats_are_not_cast_either(tmp_path):
    nodes = _jsonl(tmp_path / "nodes.jsonl", [{"id": 0.0, "text": "a"}, {"id": 1.0, "text": "b"}])
    with pytest.raises(ValueError, match=r"nodes.jsonl row 0: node id 0.0 is a float"):
        graph_from_tables(nodes)


def test_bool_ids_and_bool_edge_ends_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"row 1: node id True is a bool"):
        graph_from_tables([{"id": 0, "text": "a"}, {"id": True, "text": "b"}])
    edges = _jsonl(tmp_path / "edges.jsonl", [{"source": 0, "target": 1}, {"source": True, "target": 0}])
    with pytest.raises(
        ValueError, match=r"edges.jsonl row 1: source True is a bool, but node ids are integers"
    ):
        graph_from_tables([{"id": 0, "text": "a"}, {"id": 1, "text": "b"}], edges)


def test_string_ids_must_be_declared(tmp_path):
    with pytest.raises(ValueError, match=r"node id 'p0' is a string; declare string ids \(string_ids=True"):
        graph_from_tables(shop_nodes(string_ids=True), shop_edges(string_ids=True), write_images(tmp_path))


def test_unknown_duplicate_and_missing_ids(tmp_path):
    nodes = [{"id": 0, "text": "a"}, {"id": 1, "text": "b"}]
    with pytest.raises(ValueError, match=r"edges row 0: target 7 is not the id of any node"):
        graph_from_tables(nodes, [{"source": 0, "target": 7}])
    with pytest.raises(ValueError, match=r"edges row 0: target 1.0 is a float, but node ids are integers"):
        graph_from_tables(nodes, [{"source": 0, "target": 1.0}])
    with pytest.raises(ValueError, match=r"nodes row 1: node id 0 repeats row 0's"):
        graph_from_tables([{"id": 0, "text": "a"}, {"id": 0, "text": "b"}])
    with pytest.raises(ValueError, match=r"nodes row 1: the node id is missing"):
        graph_from_tables([{"id": 0, "text": "a"}, {"id": None, "text": "b"}])
    with pytest.raises(ValueError, match=r"edges: no 'target' column"):
        graph_from_tables(nodes, [{"source": 0, "dst": 1}])


def test_missing_image_and_empty_node_are_named(tmp_path):
    images = write_images(tmp_path / "images")
    with pytest.raises(ValueError, match=r"nodes row 1 \(node 1\): image file .*nope.png' does not exist"):
        graph_from_tables(
            [{"id": 0, "text": "a", "image": None}, {"id": 1, "text": "b", "image": "nope.png"}], None, images
        )
    (images / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"nodes row 0 \(node 0\) .*broken.png\): the image is not readable"):
        graph_from_tables([{"id": 0, "text": "a", "image": "broken.png"}], None, images)
    with pytest.raises(ValueError, match=r"nodes row 1 \(node 1\): the node has neither a text nor an image"):
        graph_from_tables([{"id": 0, "text": "a"}, {"id": 1, "text": "", "image": None}])


def test_a_table_without_targets_has_no_examples(tmp_path):
    with pytest.raises(ValueError, match="no node has a target_text or a label"):
        build_graph_dataset([{"id": 0, "text": "a"}], None, tmp_path / "out")


def test_unknown_format_and_bad_split(tmp_path):
    (tmp_path / "nodes.xlsx").write_text("x")
    with pytest.raises(ValueError, match=r"nodes.xlsx: cannot tell the table format"):
        graph_from_tables(tmp_path / "nodes.xlsx")
    rows = [{"id": 0, "text": "a", "label": "x", "split": "training"}]
    with pytest.raises(ValueError, match=r"nodes row 0: split 'training' is not one of"):
        build_graph_dataset(rows, None, tmp_path / "out")
