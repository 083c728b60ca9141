import io

import numpy as np
import pytest
import torch
from PIL import Image

from hf_graph4mm.processing import MultimodalGraph, load_image


def _png_bytes(color=(255, 0, 0)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_edges_as_pairs_or_tensor_give_the_same_index():
    pairs = MultimodalGraph(texts=["a", "b", "c"], edges=[(0, 1), (1, 2)])
    tensor = MultimodalGraph(texts=["a", "b", "c"], edges=torch.tensor([[0, 1], [1, 2]]))
    assert pairs.edge_index.tolist() == [[0, 1], [1, 2]]
    assert tensor.edge_index.tolist() == [[0, 1], [1, 2]]


def test_edge_past_node_count_is_named():
    with pytest.raises(ValueError, match=r"graph 'page-42': edge #1 \(1, 17\) points past the 3 nodes"):
        MultimodalGraph(texts=["a", "b", "c"], edges=[(0, 1), (1, 17)], name="page-42")


def test_negative_index_is_named():
    with pytest.raises(ValueError, match=r"edge #0 \(-1, 2\) has a negative node index"):
        MultimodalGraph(texts=["a", "b", "c"], edges=[(-1, 2)])


def test_node_without_modality_is_named():
    with pytest.raises(ValueError, match=r"graph 'g': node 1 \(id 'n1'\) has neither text nor image"):
        MultimodalGraph(texts=["a", None], images=[None, None], node_ids=["n0", "n1"], name="g")


def test_duplicate_id_is_named():
    with pytest.raises(ValueError, match=r"duplicate node id 'x' at nodes 0 and 2"):
        MultimodalGraph(texts=["a", "b", "c"], node_ids=["x", "y", "x"])


def test_length_mismatch_is_named():
    with pytest.raises(ValueError, match=r"images has 1 entries but there are 2 nodes"):
        MultimodalGraph(texts=["a", "b"], images=[None])


def test_malformed_edge_pair():
    with pytest.raises(ValueError, match=r"edge #0 \(0, 1, 2\) is not a \(source, target\) pair"):
        MultimodalGraph(texts=["a", "b", "c"], edges=[(0, 1, 2)])


def test_edge_types_follow_modalities():
    image = _png_bytes()
    # 0: text only, 1: image only, 2: text + image
    graph = MultimodalGraph(
        texts=["t", None, "both"], images=[None, image, image], edges=[(0, 1), (0, 2), (1, 2)]
    )
    types = graph.edge_types()
    # columns: text-text, image-image, text-image
    assert types.tolist() == [
        [False, False, True],  # text node meets image node
        [True, False, True],  # both have text; 0's text meets 2's image
        [False, True, True],  # both have images; 2's text meets 1's image
    ]


def test_directed_csr_points_from_target_to_source():
    graph = MultimodalGraph(texts=["a", "b"], edges=[(0, 1)], directed=True)
    dense = graph.csr.toarray()
    assert dense.tolist() == [[False, False], [True, False]]  # node 1 receives from node 0
    undirected = MultimodalGraph(texts=["a", "b"], edges=[(0, 1)]).csr.toarray()
    assert undirected.tolist() == [[False, True], [True, False]]


def test_images_from_pil_path_and_bytes(tmp_path):
    path = tmp_path / "x.png"
    Image.new("RGB", (3, 5), (0, 255, 0)).save(path)
    for image in (Image.new("L", (3, 5)), str(path), path.read_bytes()):
        decoded = load_image(image)
        assert decoded.mode == "RGB" and decoded.size == (3, 5)


def test_round_trip_through_dict_and_lookup_by_id():
    graph = MultimodalGraph(
        texts=["a", None],
        images=[None, "img.png"],
        edges=[(0, 1)],
        node_ids=["p", "q"],
        labels=[3, -1],
        name="n",
    )
    again = MultimodalGraph.from_dict(graph.to_dict())
    assert again.texts == graph.texts and again.images == graph.images
    assert np.array_equal(again.edge_index, graph.edge_index)
    assert again.node_ids == ["p", "q"] and again.labels == [3, -1] and again.name == "n"
    assert again.index_of("q") == 1 and again[1].has_image and not again[1].has_text
    with pytest.raises(KeyError, match="no node with id 'z'"):
        again.index_of("z")


def test_nodes_and_edges_form_is_accepted():
    graph = MultimodalGraph.from_dict(
        {"nodes": [{"text": "a"}, {"image": "b.png", "label": 2}], "edges": [[0, 1]]}
    )
    assert graph.num_nodes == 2 and graph.num_edges == 1 and graph.labels == [None, 2]


def test_from_dict_reads_plain_edge_pairs_and_refuses_edges_given_twice():
    graph = MultimodalGraph.from_dict({"texts": ["a", "b", "c"], "edges": [[0, 1], [1, 2]]})
    assert graph.num_edges == 2 and graph.edge_index.tolist() == [[0, 1], [1, 2]]
    with pytest.raises(ValueError, match="either `edges` or `edge_source`/`edge_target`"):
        MultimodalGraph.from_dict({"texts": ["a", "b"], "edges": [[0, 1]], "edge_source": [0], "edge_target": [1]})
