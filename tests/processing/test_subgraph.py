from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_graph4mm.processing import MultimodalGraph, extract_subgraph, hop_distances


def reference_bfs(num_nodes, edges, target, num_hops, directed):
    """Plain BFS over adjacency lists, written independently of the CSR code."""
    receives_from = [[] for _ in range(num_nodes)]
    for source, destination in edges:
        receives_from[destination].append(source)
        if not directed:
            receives_from[source].append(destination)
    distance = {target: 0}
    queue = deque([target])
    while queue:
        node = queue.popleft()
        if distance[node] == num_hops:
            continue
        for neighbour in receives_from[node]:
            if neighbour not in distance:
                distance[neighbour] = distance[node] + 1
                queue.append(neighbour)
    return distance


@st.composite
def random_graphs(draw):
    num_nodes = draw(st.integers(1, 25))
    edges = draw(
        st.lists(st.tuples(st.integers(0, num_nodes - 1), st.integers(0, num_nodes - 1)), max_size=60)
    )
    has_text = draw(st.lists(st.booleans(), min_size=num_nodes, max_size=num_nodes))
    has_image = [draw(st.booleans()) or not text for text in has_text]
    target = draw(st.integers(0, num_nodes - 1))
    num_hops = draw(st.integers(0, 4))
    directed = draw(st.booleans())
    return num_nodes, edges, has_text, has_image, target, num_hops, directed


@settings(max_examples=150, deadline=None)
@given(random_graphs())
def test_hops_match_plain_bfs(case):
    num_nodes, edges, has_text, has_image, target, num_hops, directed = case
    graph = MultimodalGraph(
        texts=[f"t{i}" if t else None for i, t in enumerate(has_text)],
        images=[f"{i}.png" if m else None for i, m in enumerate(has_image)],
        edges=edges,
        directed=directed,
    )
    nodes, hops = hop_distances(graph, target, num_hops)
    expected = reference_bfs(num_nodes, edges, target, num_hops, directed)
    assert dict(zip(nodes.tolist(), hops.tolist())) == expected
    # deterministic order: target first, then by hop, then by index
    assert nodes[0] == target
    assert list(zip(hops.tolist(), nodes.tolist())) == sorted(zip(hops.tolist(), nodes.tolist()))


@settings(max_examples=100, deadline=None)
@given(random_graphs(), st.integers(0, 6), st.integers(0, 6))
def test_caps_keep_nearest_and_adjacency_is_induced(case, max_text, max_image):
    num_nodes, edges, has_text, has_image, target, num_hops, directed = case
    graph = MultimodalGraph(
        texts=[f"t{i}" if t else None for i, t in enumerate(has_text)],
        images=[f"{i}.png" if m else None for i, m in enumerate(has_image)],
        edges=edges,
        directed=directed,
    )
    sub = extract_subgraph(graph, target, num_hops, max_text, max_image)
    distance = reference_bfs(num_nodes, edges, target, num_hops, directed)
    order = sorted(distance, key=lambda node: (distance[node], node))
    expected_text = [n for n in order if has_text[n]][:max_text]
    expected_image = [n for n in order if has_image[n]][:max_image]
    assert sub.text.nodes.tolist() == expected_text
    assert sub.image.nodes.tolist() == expected_image
    assert sub.text.hops.tolist() == [distance[n] for n in expected_text]
    assert sorted(sub.nodes.tolist()) == sorted(set(expected_text) | set(expected_image))
    edge_set = {(s, d) for s, d in edges}
    for part in (sub.text, sub.image):
        for i, u in enumerate(part.nodes.tolist()):
            for j, v in enumerate(part.nodes.tolist()):
                linked = (v, u) in edge_set or (not directed and (u, v) in edge_set)
                assert part.adjacency[i, j] == (linked or i == j)


def test_hand_checked_neighbourhood():
    # 0 - 1 - 2 - 3, and 1 - 4 ; node 4 is image-only, node 2 has both
    graph = MultimodalGraph(
        texts=["a", "b", "c", "d", None],
        images=[None, None, "2.png", None, "4.png"],
        edges=[(0, 1), (1, 2), (2, 3), (1, 4)],
    )
    sub = extract_subgraph(graph, target=1, num_hops=1)
    assert sub.nodes.tolist() == [1, 0, 2, 4] and sub.hops.tolist() == [0, 1, 1, 1]
    assert sub.text.nodes.tolist() == [1, 0, 2]
    assert sub.image.nodes.tolist() == [2, 4]
    assert sub.image.adjacency.tolist() == [[True, False], [False, True]]  # 2 and 4 are not linked directly
    assert sub.text.adjacency.tolist() == [[True, True, True], [True, True, False], [True, False, True]]


def test_target_out_of_range_is_named():
    graph = MultimodalGraph(texts=["a"], name="tiny")
    with pytest.raises(ValueError, match="graph 'tiny' has 1 nodes, no target node 3"):
        extract_subgraph(graph, 3)


def test_large_graph_queries_stay_sparse_and_match_bfs():
    """100k nodes, 500k edges: the neighbour index is sparse (a dense one would need 10 GB) and
    neighbourhoods still match the plain BFS. Speed is a benchmark matter, not asserted here."""
    rng = np.random.default_rng(0)
    num_nodes, num_edges = 100_000, 500_000
    edges = rng.integers(0, num_nodes, size=(2, num_edges))
    graph = MultimodalGraph(texts=["x"] * num_nodes, images=[None] * num_nodes, edges=edges)
    assert graph.csr.nnz <= 2 * num_edges  # CSR over the edges, not an N x N matrix
    pairs = list(zip(edges[0].tolist(), edges[1].tolist()))
    for target in (0, 17, 99_999):
        nodes, hops = hop_distances(graph, target, num_hops=2)
        assert dict(zip(nodes.tolist(), hops.tolist())) == reference_bfs(num_nodes, pairs, target, 2, False)
        sub = extract_subgraph(graph, target, num_hops=2, max_text_nodes=12)
        assert sub.text.num_nodes == 12 and sub.text.adjacency.shape == (12, 12)
