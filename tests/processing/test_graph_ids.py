"""Node ids and per-node fields are validated, never silently coerced (issue 27)."""

import numpy as np
import pytest
import torch

from hf_graph4mm.processing import MultimodalGraph

TEXTS = ["a", "b", "c"]


@pytest.mark.parametrize(
    "edges, shown",
    [
        ([(0.0, 1.9)], r"edge #0 \(0.0, 1.9\)"),  # would have become (0, 1)
        ([(0, 1), (1.0, 2)], r"edge #1 \(1.0, 2\)"),
        ([(True, 2)], r"edge #0 \(True, 2\)"),  # True is not node 1
        ([("0", "1")], r"edge #0 \('0', '1'\)"),
    ],
)
def test_non_integer_edge_indices_are_refused_and_named(edges, shown):
    with pytest.raises(ValueError, match=shown + ": node indices must be integers"):
        MultimodalGraph(texts=TEXTS, edges=edges)


@pytest.mark.parametrize(
    "edges",
    [
        np.array([[0.0, 1.0], [1.0, 2.0]]),
        torch.tensor([[0.0, 1.5]]),
        np.array([[True, False], [False, True]]),
    ],
)
def test_float_or_bool_edge_arrays_are_refused(edges):
    with pytest.raises(ValueError, match="edge indices must be integers, got a (float|bool)"):
        MultimodalGraph(texts=TEXTS, edges=edges)


def test_integer_arrays_of_any_width_are_accepted():
    for edges in (
        np.array([[0, 1], [1, 2]], dtype=np.int32),
        torch.tensor([[0, 1], [1, 2]], dtype=torch.int16),
    ):
        assert MultimodalGraph(texts=TEXTS, edges=edges).edge_index.tolist() == [[0, 1], [1, 2]]


@pytest.mark.parametrize("field", ["texts", "images", "node_ids", "labels"])
def test_a_bare_string_is_not_a_list_of_nodes(field):
    kwargs = {"texts": TEXTS, field: "abc"}
    with pytest.raises(ValueError, match=f"{field} must be a sequence with one entry per node, got a str"):
        MultimodalGraph(**kwargs)


@pytest.mark.parametrize(
    "node_ids, message",
    [
        ([0.0, 1.0, 2.0], r"node 0 has id 0.0 of type float"),
        ([0, True, 2], r"node 1 has id True of type bool"),
        ([0, "1", 2], r"node ids mix integers and strings \(node 1 has id '1'\)"),
    ],
)
def test_node_ids_are_integers_or_strings(node_ids, message):
    with pytest.raises(ValueError, match=message):
        MultimodalGraph(texts=TEXTS, node_ids=node_ids)


def test_string_ids_are_declared_and_mapped_once():
    graph = MultimodalGraph(
        texts=TEXTS,
        node_ids=["shoe", "sock", "hat"],
        edges=[("sock", "hat"), ("shoe", "sock")],
        edges_by_id=True,
    )
    assert graph.edge_index.tolist() == [[1, 0], [2, 1]]  # hand-mapped: shoe=0, sock=1, hat=2
    assert graph.index_of("hat") == 2
    with pytest.raises(ValueError, match=r"edge #0 \('sock', 'cap'\) names node id 'cap'"):
        MultimodalGraph(
            texts=TEXTS, node_ids=["shoe", "sock", "hat"], edges=[("sock", "cap")], edges_by_id=True
        )
    with pytest.raises(ValueError, match="edges_by_id=True needs node_ids"):
        MultimodalGraph(texts=TEXTS, edges=[("a", "b")], edges_by_id=True)


def test_graph_dict_with_float_edge_columns_is_refused():
    data = MultimodalGraph(texts=TEXTS, edges=[(0, 1)]).to_dict()
    data["edge_target"] = [1.5]
    with pytest.raises(ValueError, match=r"edge_target\[0\] = 1.5 is not an integer node index"):
        MultimodalGraph.from_dict(data)


def test_index_lookup_without_ids_takes_integers_only():
    graph = MultimodalGraph(texts=TEXTS)
    assert graph.index_of(np.int64(2)) == 2
    for bad in (1.0, True, "1"):
        with pytest.raises(KeyError):
            graph.index_of(bad)


def test_float_target_node_is_refused_by_the_processor():
    from hf_graph4mm.testing import tiny_graph4mm

    _, processor = tiny_graph4mm()
    graph = MultimodalGraph(texts=TEXTS, edges=[(0, 1)])
    for bad in (1.0, True):
        with pytest.raises(ValueError, match="the target node must be an integer index"):
            processor.process_example(graph, bad)


def test_subgraph_keeps_fields_and_relabels_edges():
    graph = MultimodalGraph(
        texts=["a", "b", "c", "d"],
        edges=[(0, 1), (1, 2), (2, 3), (0, 3)],
        node_ids=["n0", "n1", "n2", "n3"],
        labels=["x", "y", "x", "y"],
        edge_relations=["r01", "r12", "r23", "r03"],
    )
    sub = graph.subgraph([3, 1, 2])
    assert (
        sub.texts == ["b", "c", "d"] and sub.node_ids == ["n1", "n2", "n3"] and sub.labels == ["y", "x", "y"]
    )
    assert sub.edge_index.tolist() == [[0, 1], [1, 2]]  # (1,2) -> (0,1), (2,3) -> (1,2)
    assert sub.edge_relations == ["r12", "r23"]
    assert MultimodalGraph.from_dict(sub.to_dict()).edge_relations == ["r12", "r23"]
