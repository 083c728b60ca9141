"""The multimodal graph: nodes with an optional text and an optional image, and edges.

A node may carry text, an image, or both; a node with neither is an error. Images are
kept as given (a ``PIL.Image.Image``, a filesystem path, or encoded bytes) and decoded
only when a processor needs pixels, so a 100k-node graph costs no image memory.

Edges are stored once as a ``[2, E]`` int64 array (``edge_index[0]`` = source,
``edge_index[1]`` = destination). Undirected graphs keep each edge once as given and
are symmetrised in the CSR neighbour index used for traversal.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Union

import numpy as np
import scipy.sparse as sp

try:  # torch is a hard dependency of the package, but the graph type works on numpy too
    import torch
except ImportError:  # pragma: no cover
    torch = None

ImageLike = Union["PIL.Image.Image", str, os.PathLike, bytes]  # noqa: F821

EDGE_TYPES = ("text-text", "image-image", "text-image")


@dataclass(frozen=True)
class Node:
    """One node of a :class:`MultimodalGraph` as handed back by ``graph[i]``."""

    index: int
    id: Any
    text: str | None
    image: ImageLike | None
    label: Any = None

    @property
    def has_text(self) -> bool:
        return self.text is not None

    @property
    def has_image(self) -> bool:
        return self.image is not None


def _is_index(value) -> bool:
    """An integer node index: a Python or numpy integer, never a bool (``True`` is not node 1)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _as_edge_index(edges, graph_name: str) -> np.ndarray:
    """Turn pairs or a ``[2, E]`` / ``[E, 2]`` tensor/array of node indices into a ``[2, E]`` int64 array.

    Indices must be integers: float, bool or string entries are refused (never rounded or cast:
    ``(0.0, 1.9)`` is an error, not the edge ``(0, 1)``), naming the edge.
    """
    if edges is None:
        return np.zeros((2, 0), dtype=np.int64)
    if torch is not None and isinstance(edges, torch.Tensor):
        edges = edges.detach().cpu().numpy()
    if isinstance(edges, (str, bytes, dict)):
        raise ValueError(
            f"graph {graph_name!r}: edges must be (source, target) pairs or a [2, E] array, "
            f"got a {type(edges).__name__}"
        )
    if isinstance(edges, np.ndarray):
        array = edges
        if array.ndim != 2 or (array.shape[0] != 2 and array.shape[1] != 2):
            raise ValueError(
                f"graph {graph_name!r}: edges must be a [2, E] array or a list of pairs, got shape {array.shape}"
            )
        if array.size and (array.dtype == bool or not np.issubdtype(array.dtype, np.integer)):
            raise ValueError(
                f"graph {graph_name!r}: edge indices must be integers, got a {array.dtype} array; "
                "convert it yourself if its values are whole numbers (e.g. array.astype('int64'))"
            )
        if array.shape[0] != 2:  # [E, 2] given as pairs
            array = array.T
        return np.ascontiguousarray(array, dtype=np.int64)
    pairs = list(edges)
    for position, pair in enumerate(pairs):
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise ValueError(
                f"graph {graph_name!r}: edge #{position} {pair!r} is not a (source, target) pair"
            )
        for node in pair:
            if not _is_index(node):
                shown = tuple(pair) if isinstance(pair, (list, tuple)) else pair
                raise ValueError(
                    f"graph {graph_name!r}: edge #{position} {shown!r}: node indices must be integers, "
                    f"got {type(node).__name__} {node!r} (floats and bools are not rounded or cast; "
                    "to give edges by node id, pass node_ids=[...] and edges_by_id=True)"
                )
    array = np.asarray(pairs, dtype=np.int64).reshape(-1, 2).T
    return np.ascontiguousarray(array, dtype=np.int64)


def _index_column(values, field: str, graph_name: str) -> np.ndarray:
    """``edge_source`` / ``edge_target`` of a graph dict as int64 indices; non-integers are refused."""
    values = _node_sequence([] if values is None else values, field, graph_name)
    for position, value in enumerate(values):
        if not _is_index(value):
            raise ValueError(
                f"graph {graph_name!r}: {field}[{position}] = {value!r} is not an integer node index"
            )
    return np.asarray(values, dtype=np.int64).reshape(-1)


def _check_node_ids(node_ids: list, graph_name: str) -> None:
    """Node ids are all integers or all strings (never floats or bools, never a mix of both kinds)."""
    kinds = set()
    for index, node_id in enumerate(node_ids):
        if _is_index(node_id):
            kinds.add("integer")
        elif isinstance(node_id, str):
            kinds.add("string")
        else:
            raise ValueError(
                f"graph {graph_name!r}: node {index} has id {node_id!r} of type {type(node_id).__name__}; "
                "node ids must be integers or strings (floats and bools are not cast)"
            )
        if len(kinds) > 1:
            raise ValueError(
                f"graph {graph_name!r}: node ids mix integers and strings (node {index} has id {node_id!r}); "
                "use one kind, e.g. all strings"
            )


def _node_sequence(values, field: str, graph_name: str) -> list | None:
    """A per-node field as a list; a bare string, bytes or a mapping (not one entry per node) is refused."""
    if values is None:
        return None
    if isinstance(values, (str, bytes, bytearray, dict)) or not hasattr(values, "__len__"):
        raise ValueError(
            f"graph {graph_name!r}: {field} must be a sequence with one entry per node, got a "
            f"{type(values).__name__} ({values!r:.40}); wrap a single node's value in a list"
        )
    if torch is not None and isinstance(values, torch.Tensor):
        values = values.tolist()
    return list(values.tolist() if isinstance(values, np.ndarray) else values)


def load_image(image: ImageLike):
    """Decode an image given as a PIL image, a path or encoded bytes into an RGB PIL image."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (bytes, bytearray)):
        return Image.open(io.BytesIO(image)).convert("RGB")
    if isinstance(image, dict) and ("bytes" in image or "path" in image):  # a datasets.Image() cell
        return load_image(image.get("bytes") or image["path"])
    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as opened:
            return opened.convert("RGB")
    raise TypeError(f"cannot read an image from {type(image).__name__}")


def image_cache_key(image: ImageLike) -> str:
    """A stable key naming an image's content: its absolute path, or a SHA-1 of its bytes.

    Used to cache a frozen vision encoder's output once per image. In-memory PIL images
    have no stable identity and cannot be cached.
    """
    if isinstance(image, dict) and ("bytes" in image or "path" in image):  # a datasets.Image() cell
        return image_cache_key(image.get("bytes") or image["path"])
    if isinstance(image, (bytes, bytearray)):
        import hashlib

        return "sha1:" + hashlib.sha1(bytes(image)).hexdigest()
    if isinstance(image, (str, os.PathLike)):
        return os.path.abspath(os.fspath(image))
    raise TypeError(
        f"an image given as {type(image).__name__} has no stable key to cache its features by; "
        "give images as file paths or bytes to use a vision-feature cache"
    )


class MultimodalGraph:
    """A graph whose nodes carry an optional text and an optional image.

    Args:
        texts: one entry per node, ``None`` where the node has no text.
        images: one entry per node (PIL image, path or bytes), ``None`` where it has none.
            Either of ``texts``/``images`` may be omitted (then no node has that modality).
        edges: ``[(source, target), ...]`` pairs or a ``[2, E]`` / ``[E, 2]`` tensor/array of integer
            node indices (floats and bools are refused, never rounded or cast).
        directed: if False (default), every edge may be followed both ways.
        node_ids: optional unique ids, one per node: all integers or all strings (used in error
            messages, lookups and ``edges_by_id``).
        labels: optional per-node labels.
        name: used in error messages.
        edges_by_id: ``edges`` name nodes by their ``node_ids`` (e.g. ``("shoe-1", "sock-7")``); they
            are mapped once to indices.
        node_types / edge_relations: optional type names, one per node / one per edge (an edges
            table's ``type`` column, a PyG ``HeteroData``'s node and edge types); kept and written,
            not used by the model.

    Every per-node field is a sequence with one entry per node: a bare string (``texts="abc"``)
    is refused, not read as three nodes.

    Raises:
        ValueError: on an edge pointing past the node count, a negative or non-integer index, a
            node with neither text nor image, mismatched list lengths, a duplicate, float, bool or
            mixed-kind node id, or a per-node field that is not a sequence.
    """

    def __init__(
        self,
        texts: Sequence[str | None] | None = None,
        images: Sequence[ImageLike | None] | None = None,
        edges=None,
        *,
        directed: bool = False,
        node_ids: Sequence[Any] | None = None,
        labels: Sequence[Any] | None = None,
        name: str = "graph",
        edges_by_id: bool = False,
        node_types: Sequence[str] | None = None,
        edge_relations: Sequence[str] | None = None,
    ):
        self.name = str(name)
        if texts is None and images is None:
            raise ValueError(f"graph {self.name!r}: give texts, images or both (one entry per node)")
        texts = _node_sequence(texts, "texts", self.name)
        images = _node_sequence(images, "images", self.name)
        node_ids = _node_sequence(node_ids, "node_ids", self.name)
        labels = _node_sequence(labels, "labels", self.name)
        node_types = _node_sequence(node_types, "node_types", self.name)
        num_nodes = len(texts) if texts is not None else len(images)
        texts = texts if texts is not None else [None] * num_nodes
        images = images if images is not None else [None] * num_nodes
        for field, values in (
            ("images", images),
            ("node_ids", node_ids),
            ("labels", labels),
            ("node_types", node_types),
        ):
            if values is not None and len(values) != num_nodes:
                raise ValueError(
                    f"graph {self.name!r}: {field} has {len(values)} entries but there are {num_nodes} nodes"
                )
        self.texts: list[str | None] = texts
        self.images: list[ImageLike | None] = images
        if node_ids is not None:
            _check_node_ids(node_ids, self.name)
        self.node_ids = node_ids
        self.labels = labels
        self.node_types = node_types
        self.directed = bool(directed)
        if edges_by_id:
            edges = self._edges_from_ids(edges)
        self.edge_index = _as_edge_index(edges, self.name)
        edge_relations = _node_sequence(edge_relations, "edge_relations", self.name)
        if edge_relations is not None and len(edge_relations) != self.edge_index.shape[1]:
            raise ValueError(
                f"graph {self.name!r}: edge_relations has {len(edge_relations)} entries but there are "
                f"{self.edge_index.shape[1]} edges"
            )
        self.edge_relations = edge_relations
        self._validate()

    def _edges_from_ids(self, edges) -> np.ndarray:
        """``(source id, target id)`` pairs mapped once to node indices through ``node_ids``."""
        if self.node_ids is None:
            raise ValueError(f"graph {self.name!r}: edges_by_id=True needs node_ids=[...]")
        lookup = {node_id: index for index, node_id in enumerate(self.node_ids)}
        if isinstance(edges, (str, bytes, dict)) or edges is None:
            return _as_edge_index(edges, self.name)
        pairs = []
        for position, pair in enumerate(edges):
            if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
                raise ValueError(
                    f"graph {self.name!r}: edge #{position} {pair!r} is not a (source, target) pair"
                )
            indices = []
            for node_id in pair:
                if isinstance(node_id, (bool, np.bool_)) or node_id not in lookup:
                    raise ValueError(
                        f"graph {self.name!r}: edge #{position} {tuple(pair)!r} names node id {node_id!r}, "
                        "which is not one of node_ids"
                    )
                indices.append(lookup[node_id])
            pairs.append(indices)
        return np.asarray(pairs, dtype=np.int64).reshape(-1, 2).T

    # ------------------------------------------------------------------ validation
    def _node_name(self, index: int) -> str:
        if self.node_ids is not None:
            return f"node {index} (id {self.node_ids[index]!r})"
        return f"node {index}"

    def _validate(self) -> None:
        for index, (text, image) in enumerate(zip(self.texts, self.images)):
            if text is None and image is None:
                raise ValueError(f"graph {self.name!r}: {self._node_name(index)} has neither text nor image")
            if text is not None and not isinstance(text, str):
                raise ValueError(
                    f"graph {self.name!r}: {self._node_name(index)} text must be a str, got {type(text).__name__}"
                )
        if self.node_ids is not None:
            seen: dict[Any, int] = {}
            for index, node_id in enumerate(self.node_ids):
                if node_id in seen:
                    raise ValueError(
                        f"graph {self.name!r}: duplicate node id {node_id!r} at nodes {seen[node_id]} and {index}"
                    )
                seen[node_id] = index
        if self.edge_index.size:
            bad_negative = np.flatnonzero((self.edge_index < 0).any(axis=0))
            if bad_negative.size:
                edge = int(bad_negative[0])
                source, target = self.edge_index[:, edge].tolist()
                raise ValueError(
                    f"graph {self.name!r}: edge #{edge} ({source}, {target}) has a negative node index"
                )
            bad_range = np.flatnonzero((self.edge_index >= self.num_nodes).any(axis=0))
            if bad_range.size:
                edge = int(bad_range[0])
                source, target = self.edge_index[:, edge].tolist()
                raise ValueError(
                    f"graph {self.name!r}: edge #{edge} ({source}, {target}) points past the "
                    f"{self.num_nodes} nodes of the graph"
                )

    # ------------------------------------------------------------------ basic facts
    @property
    def num_nodes(self) -> int:
        return len(self.texts)

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])

    def __len__(self) -> int:
        return self.num_nodes

    def __getitem__(self, index: int) -> Node:
        if not -self.num_nodes <= index < self.num_nodes:
            raise IndexError(f"graph {self.name!r} has {self.num_nodes} nodes, no node {index}")
        index = index % self.num_nodes
        return Node(
            index=index,
            id=self.node_ids[index] if self.node_ids is not None else index,
            text=self.texts[index],
            image=self.images[index],
            label=self.labels[index] if self.labels is not None else None,
        )

    def __repr__(self) -> str:
        return (
            f"MultimodalGraph(name={self.name!r}, nodes={self.num_nodes}, edges={self.num_edges}, "
            f"text_nodes={int(self.has_text.sum())}, image_nodes={int(self.has_image.sum())}, "
            f"directed={self.directed})"
        )

    @cached_property
    def has_text(self) -> np.ndarray:
        """``[num_nodes]`` bool: which nodes carry text."""
        return np.fromiter((t is not None for t in self.texts), dtype=bool, count=self.num_nodes)

    @cached_property
    def has_image(self) -> np.ndarray:
        """``[num_nodes]`` bool: which nodes carry an image."""
        return np.fromiter((i is not None for i in self.images), dtype=bool, count=self.num_nodes)

    def index_of(self, node_id: Any) -> int:
        """The position of the node with id ``node_id``."""
        if self.node_ids is None:
            if not _is_index(node_id):
                raise KeyError(
                    f"graph {self.name!r} has no node ids; look nodes up by integer index, not {node_id!r}"
                )
            index = int(node_id)
            if not 0 <= index < self.num_nodes:
                raise KeyError(f"graph {self.name!r} has {self.num_nodes} nodes, no node {node_id!r}")
            return index
        try:
            return self._id_to_index[node_id]
        except KeyError:
            raise KeyError(f"graph {self.name!r} has no node with id {node_id!r}") from None

    @cached_property
    def _id_to_index(self) -> dict[Any, int]:
        return {node_id: index for index, node_id in enumerate(self.node_ids or [])}

    def edge_types(self) -> np.ndarray:
        """``[E, 3]`` bool flags per edge: (text-text, image-image, text-image).

        An edge is text-text when both ends carry text, image-image when both carry an
        image, and text-image when one end's text meets the other end's image. A node
        with both modalities makes an edge several types at once.
        """
        source, target = self.edge_index
        text_s, text_t = self.has_text[source], self.has_text[target]
        image_s, image_t = self.has_image[source], self.has_image[target]
        return np.stack([text_s & text_t, image_s & image_t, (text_s & image_t) | (image_s & text_t)], axis=1)

    # ------------------------------------------------------------------ neighbour index
    @cached_property
    def csr(self) -> sp.csr_matrix:
        """Sparse ``[num_nodes, num_nodes]`` bool matrix; row ``i`` lists the nodes ``i`` receives from.

        For a directed edge ``(s, t)`` the entry is ``[t, s]`` (messages flow source to
        target, so the target attends to the source); undirected edges set both entries.
        Self-loops are not added here (subgraph adjacencies add their own).
        """
        source, target = self.edge_index
        if not self.directed:
            source, target = np.concatenate([source, target]), np.concatenate([target, source])
        data = np.ones(source.shape[0], dtype=bool)
        matrix = sp.csr_matrix((data, (target, source)), shape=(self.num_nodes, self.num_nodes), dtype=bool)
        matrix.sum_duplicates()
        matrix.sort_indices()
        return matrix

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """A plain dict (``datasets``-friendly): texts, images, edge lists, ids, labels, flags.

        ``node_types`` / ``edge_relations`` appear only when the graph has them, so graphs
        without them keep the ``graph_feature()`` layout of the release datasets.
        """
        data = {
            "name": self.name,
            "texts": list(self.texts),
            "images": list(self.images),
            "edge_source": self.edge_index[0].tolist(),
            "edge_target": self.edge_index[1].tolist(),
            "directed": self.directed,
            "node_ids": list(self.node_ids) if self.node_ids is not None else None,
            "labels": list(self.labels) if self.labels is not None else None,
        }
        if self.node_types is not None:
            data["node_types"] = list(self.node_types)
        if self.edge_relations is not None:
            data["edge_relations"] = list(self.edge_relations)
        return data

    def subgraph(self, nodes: Sequence[int], name: str | None = None) -> MultimodalGraph:
        """The graph induced by ``nodes`` (kept in ascending index order), with every per-node and
        per-edge field; node ``i`` of the result is the ``i``-th smallest of ``nodes``."""
        keep = np.unique(np.asarray(list(nodes), dtype=np.int64))
        if keep.size and (keep[0] < 0 or keep[-1] >= self.num_nodes):
            raise ValueError(f"graph {self.name!r}: subgraph nodes must lie in 0..{self.num_nodes - 1}")
        position = np.full(self.num_nodes, -1, dtype=np.int64)
        position[keep] = np.arange(keep.size)
        source, target = position[self.edge_index[0]], position[self.edge_index[1]]
        kept_edges = np.flatnonzero((source >= 0) & (target >= 0))

        def pick(values):
            return None if values is None else [values[int(i)] for i in keep]

        return MultimodalGraph(
            texts=pick(self.texts),
            images=pick(self.images),
            edges=np.stack([source[kept_edges], target[kept_edges]]),
            directed=self.directed,
            node_ids=pick(self.node_ids),
            labels=pick(self.labels),
            name=self.name if name is None else name,
            node_types=pick(self.node_types),
            edge_relations=None
            if self.edge_relations is None
            else [self.edge_relations[int(i)] for i in kept_edges],
        )

    @classmethod
    def from_pyg(cls, data, **options) -> MultimodalGraph:
        """A graph from a PyTorch Geometric ``Data`` or ``HeteroData`` (see :func:`.pyg.graph_from_pyg`
        for where texts, images, ids and labels are read from). Needs ``torch_geometric``."""
        from .pyg import graph_from_pyg

        return graph_from_pyg(data, graph_class=cls, **options)

    def to_pyg(self, hetero: bool | None = None):
        """This graph as a PyTorch Geometric ``Data`` (or ``HeteroData`` when it has node types;
        see :func:`.pyg.graph_to_pyg`). Needs ``torch_geometric``."""
        from .pyg import graph_to_pyg

        return graph_to_pyg(self, hetero=hetero)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MultimodalGraph:
        """Inverse of :meth:`to_dict`; also accepts ``{"nodes": [{"text", "image"}...], "edges": [...]}``
        and ``{"texts": [...], "images": [...], "edges": [[source, target], ...]}``.

        Raises:
            ValueError: edges given twice (``edges`` and ``edge_source``/``edge_target``).
        """
        if "nodes" in data:
            nodes: Iterable[dict] = data["nodes"]
            nodes = list(nodes)
            return cls(
                texts=[node.get("text") for node in nodes],
                images=[node.get("image") for node in nodes],
                edges=data.get("edges"),
                directed=bool(data.get("directed", False)),
                node_ids=[node["id"] for node in nodes] if nodes and all("id" in n for n in nodes) else None,
                labels=[node.get("label") for node in nodes] if any("label" in n for n in nodes) else None,
                name=data.get("name", "graph"),
            )
        if "edges" in data:
            if "edge_source" in data or "edge_target" in data:
                raise ValueError(
                    "give the edges once: either `edges` or `edge_source`/`edge_target`, not both"
                )
            edges = data["edges"]
        else:
            name = data.get("name") or "graph"
            edges = np.stack(
                [
                    _index_column(data.get("edge_source"), "edge_source", name),
                    _index_column(data.get("edge_target"), "edge_target", name),
                ]
            )
        return cls(
            texts=data.get("texts"),
            images=data.get("images"),
            edges=edges,
            directed=bool(data.get("directed", False)),
            node_ids=data.get("node_ids"),
            labels=data.get("labels"),
            name=data.get("name") or "graph",
            node_types=data.get("node_types"),
            edge_relations=data.get("edge_relations"),
        )
