"""MultimodalGraph <-> PyTorch Geometric Data / HeteroData."""

import pytest
import torch

from hf_graph4mm.processing import MultimodalGraph
from hf_graph4mm.testing.user_graphs import SHOP_EDGES, shop_pyg_data

pyg = pytest.importorskip("torch_geometric")
from torch_geometric.data import Data, HeteroData  # noqa: E402


def test_data_with_text_images_and_class_ids():
    graph = MultimodalGraph.from_pyg(shop_pyg_data(), label_names=["hat", "shoe"], name="shop")
    assert graph.num_nodes == 8 and graph.num_edges == 2 * len(SHOP_EDGES)
    assert graph.labels == ["hat", "shoe"] * 4 and graph.texts[5] is None
    assert graph.has_image.tolist() == [True, False, False, True, False, True, True, False]
    # both directions were given; the neighbour index has each neighbour once
    assert graph.csr[0].indices.tolist() == [1, 4]


def test_data_round_trip():
    source = MultimodalGraph(
        texts=["a", None, "c"],
        images=[None, b"png", None],
        edges=[(0, 1), (2, 1)],
        node_ids=[7, 8, 9],
        labels=[0, None, 1],
        directed=True,
        edge_relations=["x", "y"],
    )
    data = source.to_pyg()
    assert isinstance(data, Data) and data.edge_index.tolist() == [[0, 2], [1, 1]]
    assert data.y.tolist() == [0, -1, 1] and data.text == ["a", None, "c"] and data.directed is True
    back = MultimodalGraph.from_pyg(data, directed=True)
    assert back.to_dict() == source.to_dict()


def test_hetero_data_round_trip_keeps_types():
    data = HeteroData()
    data["product"].text = ["boots", "cap"]
    data["product"].num_nodes = 2
    data["product"].y = torch.tensor([1, 0])
    data["photo"].image = [b"p0", b"p1", b"p2"]
    data["photo"].num_nodes = 3
    data["product", "shown_in", "photo"].edge_index = torch.tensor([[0, 1, 1], [0, 1, 2]])
    data["product", "bought_with", "product"].edge_index = torch.tensor([[0], [1]])
    graph = MultimodalGraph.from_pyg(data, label_names=["hat", "shoe"])
    # products first (0, 1), then photos (2, 3, 4): photo j is node 2 + j
    assert graph.node_types == ["product", "product", "photo", "photo", "photo"]
    assert graph.edge_index.tolist() == [[0, 1, 1, 0], [2, 3, 4, 1]]
    assert graph.edge_relations == ["product__shown_in__photo"] * 3 + ["product__bought_with__product"]
    assert graph.labels == ["shoe", "hat", None, None, None]
    assert graph.node_ids == ["product/0", "product/1", "photo/0", "photo/1", "photo/2"]
    back = graph.to_pyg()
    assert isinstance(back, HeteroData)
    assert back["product", "shown_in", "photo"].edge_index.tolist() == [[0, 1, 1], [0, 1, 2]]
    assert MultimodalGraph.from_pyg(back).to_dict() == graph.to_dict()


def test_bad_pyg_inputs_are_named():
    with pytest.raises(ValueError, match="edge_index must hold integer node indices, got torch.float32"):
        MultimodalGraph.from_pyg(Data(edge_index=torch.tensor([[0.0], [1.0]]), num_nodes=2, text=["a", "b"]))
    with pytest.raises(ValueError, match="data has no node text or image attribute"):
        MultimodalGraph.from_pyg(Data(edge_index=torch.tensor([[0], [1]]), num_nodes=2))
    with pytest.raises(ValueError, match=r"data.texts has 1 entries but there are 2 nodes"):
        MultimodalGraph.from_pyg(Data(num_nodes=2, text=["a"]))
    with pytest.raises(ValueError, match=r"data.y must be a \[num_nodes\] integer tensor"):
        MultimodalGraph.from_pyg(Data(num_nodes=2, text=["a", "b"], y=torch.tensor([0.5, 1.0])))
    with pytest.raises(ValueError, match="data has no attribute 'caption'"):
        MultimodalGraph.from_pyg(Data(num_nodes=1, text=["a"]), texts="caption")


def test_a_hetero_node_type_without_text_or_image_is_named():
    data = HeteroData()
    data["product"].text = ["boots"]
    data["product"].num_nodes = 1
    data["user"].x = torch.zeros(2, 3)
    data["user"].num_nodes = 2
    with pytest.raises(ValueError, match=r"data\['user'\] has no node text or image attribute"):
        MultimodalGraph.from_pyg(data)
