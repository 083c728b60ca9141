"""The graph pipelines take the plain dicts a Hub user writes; a bad field is named in the error."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hf_graph4mm import MultimodalGraph
from hf_graph4mm.pipelines.graph_inputs import parse_graph_input


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """An image file on disk, and the same pixels as a PIL image."""
    rng = np.random.default_rng(0)
    image = Image.fromarray((rng.random((32, 32, 3)) * 255).astype("uint8"))
    path = tmp_path_factory.mktemp("images") / "photo.png"  # png: lossless, so both give the same pixels
    image.save(path)
    return str(path), image


def test_plain_dict_equals_the_multimodal_graph(generator, photo):
    path, image = photo
    texts = ["a cat page", None, "cats sleep", "the end"]
    edges = [[0, 1], [1, 2], [2, 3]]
    plain = {
        "texts": texts,
        "images": [None, path, image, None],
        "edges": edges,
        "target": 2,
        "prompt": "Say:",
    }
    graph = MultimodalGraph(texts=texts, images=[None, image, image, None], edges=edges)
    expected = generator({"graph": graph, "target": 2, "prompt": "Say:"}, max_new_tokens=4)
    assert generator(plain, max_new_tokens=4) == expected
    # target_node (the dataset column name) and call arguments work as well
    renamed = {"texts": texts, "images": [None, path, image, None], "edges": edges, "target_node": 2}
    assert generator(renamed, prompt="Say:", max_new_tokens=4) == expected


def test_plain_dict_keeps_its_edges():
    """Edges of a plain dict reach the graph (MultimodalGraph.from_dict would read edge_source/edge_target)."""
    graph, target, prompt = parse_graph_input(
        {"texts": ["a", "b", "c"], "edges": [[0, 2], [2, 1]], "target": 1}
    )
    assert graph.edge_index.tolist() == [[0, 2], [2, 1]]
    assert (target, prompt) == (1, None)
    edgeless, _, _ = parse_graph_input({"images": [Image.new("RGB", (4, 4))], "target": 0})
    assert edgeless.num_nodes == 1 and edgeless.num_edges == 0


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"texts": ["a", 3], "edges": [], "target": 0}, r"texts\[1\] must be a string or None, got int"),
        ({"texts": "a b", "target": 0}, "texts must be a list"),
        (
            {"texts": ["a", None], "images": [None, "https://x.org/a.jpg"], "target": 0},
            r"images\[1\] is a URL",
        ),
        (
            {"texts": ["a", None], "images": [None, "missing.jpg"], "target": 0},
            r"images\[1\]: there is no file",
        ),
        ({"texts": ["a", None], "images": [None, 7], "target": 0}, r"images\[1\] must be a file path"),
        ({"texts": ["a", "b"], "images": [None], "target": 0}, "texts has 2 entries but images has 1"),
        (
            {"texts": ["a", None], "images": [None, None], "target": 0},
            r"node 1 has neither a text \(texts\[1\]\)",
        ),
        ({"texts": ["a", "b"], "edges": [[0, 1], [1]], "target": 0}, r"edges\[1\] must be a pair"),
        (
            {"texts": ["a", "b"], "edges": [[0, 1], [1, 5]], "target": 0},
            r"edges\[1\] = \[1, 5\]: there is no node 5",
        ),
        ({"texts": ["a", "b"], "edges": [[0, "1"]], "target": 0}, r"edges\[0\] .*must be integers"),
        ({"texts": ["a", "b"], "edges": "0-1", "target": 0}, "edges must be a list of"),
        ({"texts": ["a"], "edge": [[0, 0]], "target": 0}, r"unknown input field\(s\) \['edge'\]"),
        ({"texts": ["a", "b"], "target": 2}, "there is no target node 2"),
        ({"texts": ["a", "b"], "target": "0"}, "target node must be an integer"),
        ({"texts": ["a", "b"]}, "no target node given"),
        ({"texts": ["a", "b"], "target": 0, "prompt": 5}, "prompt must be a string, got int"),
        ({"texts": [], "target": 0}, "the graph has no nodes"),
    ],
)
def test_bad_fields_are_named(inputs, message):
    with pytest.raises(ValueError, match=message):
        parse_graph_input(inputs)


def test_a_file_that_is_not_an_image_is_named(tmp_path, generator):
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("not pixels")
    with pytest.raises(ValueError, match=r"images\[0\]: .*notes.jpg' is not a readable image"):
        generator({"images": [str(not_an_image)], "target": 0}, max_new_tokens=1)
