"""Neighbourhood extraction around a target node, split into text and visual subgraphs.

All work happens on the graph's CSR neighbour index: each BFS step gathers the
neighbours of the whole frontier at once (sparse row slicing), so a query costs
O(edges touched), never O(all edges) or a dense ``N x N`` matrix of the full graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import MultimodalGraph


@dataclass(frozen=True)
class ModalitySubgraph:
    """The nodes of one modality kept around a target.

    Attributes:
        nodes: ``[N]`` int64 global node indices, target first (if it has the modality),
            then by hop distance, then by node index.
        hops: ``[N]`` int64 hop distance of each node to the target in the whole graph.
        adjacency: ``[N, N]`` bool, ``adjacency[i, j]`` = node ``i`` may attend node ``j``
            (an edge between them among the kept nodes, or ``i == j``: self-loops are on).
    """

    nodes: np.ndarray
    hops: np.ndarray
    adjacency: np.ndarray

    @property
    def num_nodes(self) -> int:
        return int(self.nodes.shape[0])


@dataclass(frozen=True)
class Subgraph:
    """A target node's neighbourhood.

    Attributes:
        target: global index of the target node.
        nodes: ``[N]`` global indices of every kept node (union of both modalities), ordered.
        hops: ``[N]`` hop distance of each kept node.
        text: the text subgraph (kept nodes that carry text).
        image: the visual subgraph (kept nodes that carry an image).
    """

    target: int
    nodes: np.ndarray
    hops: np.ndarray
    text: ModalitySubgraph
    image: ModalitySubgraph


def hop_distances(graph: MultimodalGraph, target: int, num_hops: int) -> tuple[np.ndarray, np.ndarray]:
    """Breadth-first search from ``target`` up to ``num_hops`` steps.

    Follows the graph's CSR index (for a directed graph: from a node to the nodes it
    receives from, i.e. against the edge direction, as message passing would).

    Returns:
        nodes: ``[M]`` int64 global indices reached (target included), sorted by (hop, index).
        hops: ``[M]`` int64 hop distance of each.
    """
    if not 0 <= target < graph.num_nodes:
        raise ValueError(f"graph {graph.name!r} has {graph.num_nodes} nodes, no target node {target}")
    if num_hops < 0:
        raise ValueError(f"num_hops must be >= 0, got {num_hops}")
    csr = graph.csr
    visited = np.zeros(graph.num_nodes, dtype=bool)
    visited[target] = True
    frontier = np.array([target], dtype=np.int64)
    found_nodes = [frontier]
    found_hops = [np.zeros(1, dtype=np.int64)]
    for hop in range(1, num_hops + 1):
        if frontier.size == 0:
            break
        neighbours = np.unique(csr[frontier].indices)
        neighbours = neighbours[~visited[neighbours]]
        if neighbours.size == 0:
            break
        visited[neighbours] = True
        found_nodes.append(neighbours.astype(np.int64))
        found_hops.append(np.full(neighbours.shape[0], hop, dtype=np.int64))
        frontier = neighbours
    return np.concatenate(found_nodes), np.concatenate(found_hops)


def _first_k(candidates: np.ndarray, limit: int | None) -> np.ndarray:
    return candidates if limit is None else candidates[:limit]


def _modality_subgraph(graph: MultimodalGraph, nodes: np.ndarray, hops: np.ndarray) -> ModalitySubgraph:
    adjacency = graph.csr[nodes][:, nodes].toarray().astype(bool)
    np.fill_diagonal(adjacency, True)
    return ModalitySubgraph(nodes=nodes, hops=hops, adjacency=adjacency)


def extract_subgraph(
    graph: MultimodalGraph,
    target: int,
    num_hops: int = 2,
    max_text_nodes: int | None = 12,
    max_image_nodes: int | None = 5,
) -> Subgraph:
    """The ``num_hops`` neighbourhood of ``target``, capped per modality, split by modality.

    Nearest hops are kept first; ties are broken by node index, so the result is
    deterministic. The target is always first in each modality it carries.

    Args:
        graph: the whole graph.
        target: global index of the target node.
        num_hops: BFS depth (tau).
        max_text_nodes / max_image_nodes: caps (``None`` = no cap).
    """
    for field, value in (("max_text_nodes", max_text_nodes), ("max_image_nodes", max_image_nodes)):
        if value is not None and value < 0:
            raise ValueError(f"{field} must be >= 0 or None, got {value}")
    reached, reached_hops = hop_distances(graph, target, num_hops)  # already (hop, index)-sorted
    text_mask = graph.has_text[reached]
    image_mask = graph.has_image[reached]
    text_positions = _first_k(np.flatnonzero(text_mask), max_text_nodes)
    image_positions = _first_k(np.flatnonzero(image_mask), max_image_nodes)
    kept_positions = np.union1d(text_positions, image_positions)  # sorted = (hop, index) order
    return Subgraph(
        target=int(target),
        nodes=reached[kept_positions],
        hops=reached_hops[kept_positions],
        text=_modality_subgraph(graph, reached[text_positions], reached_hops[text_positions]),
        image=_modality_subgraph(graph, reached[image_positions], reached_hops[image_positions]),
    )
