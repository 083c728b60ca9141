"""PyTorch Geometric ``Data`` / ``HeteroData`` <-> :class:`MultimodalGraph`.

``torch_geometric`` is an optional dependency (``pip install hf-graph4mm[pyg]``); it is imported
only when one of these functions runs.

What is read from a ``Data`` (or from each node type of a ``HeteroData``), by attribute name:

- node texts: the first of ``text``, ``texts``, ``raw_text``, ``raw_texts`` present (a list of
  ``str`` or ``None``, one per node), or the attribute named by ``texts=``;
- node images: the first of ``image``, ``images``, ``image_path``, ``image_paths`` (file paths,
  encoded bytes, PIL images or ``None``), or ``images=``;
- node ids: ``node_id`` / ``node_ids`` (integers or strings, one per node), if present;
- labels: ``y`` (a ``[N]`` integer tensor or a list; a negative class id means unlabelled), or
  ``labels=``; with ``label_names=[...]`` class ids become names;
- edges: ``edge_index`` ``[2, E]`` (an integer tensor; never cast), per edge type for ``HeteroData``.

A ``HeteroData``'s node types are laid out one after the other (in ``data.node_types`` order);
each node keeps its type in ``node_types`` and each edge its ``"source__relation__target"`` type
in ``edge_relations``, which :func:`graph_to_pyg` turns back into a ``HeteroData``.
Graph4MM follows edges both ways unless ``directed=True`` (PyG stores an undirected graph with
both directions; keeping both is harmless, the neighbour index merges them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import MultimodalGraph

TEXT_ATTRIBUTES = ("text", "texts", "raw_text", "raw_texts")
IMAGE_ATTRIBUTES = ("image", "images", "image_path", "image_paths")
ID_ATTRIBUTES = ("node_id", "node_ids")
RELATION_SEPARATOR = "__"


def _require_pyg():
    try:
        import torch_geometric  # noqa: F401
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "MultimodalGraph.from_pyg / to_pyg need PyTorch Geometric: pip install 'hf-graph4mm[pyg]'"
        ) from error
    from torch_geometric.data import Data, HeteroData

    return Data, HeteroData


def _attribute(store, names: tuple[str, ...], chosen: str | None, where: str):
    """The value of ``chosen`` (which must exist) or of the first of ``names`` present; else None."""
    if chosen is not None:
        if chosen not in store:
            raise ValueError(f"{where} has no attribute {chosen!r}; it has {sorted(store.keys())}")
        return store[chosen]
    for name in names:
        if name in store:
            return store[name]
    return None


def _per_node(values, count: int, field: str, where: str) -> list | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
        raise ValueError(f"{where}.{field} must hold one entry per node, got a {type(values).__name__}")
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    if len(values) != count:
        raise ValueError(f"{where}.{field} has {len(values)} entries but there are {count} nodes")
    return values


def _labels(values, count: int, label_names, where: str) -> list | None:
    """Class ids (negative = unlabelled) or label values, as names when ``label_names`` is given."""
    import torch

    if values is None:
        return None
    if isinstance(values, torch.Tensor):
        if values.dtype == torch.bool or values.is_floating_point() or values.dim() != 1:
            raise ValueError(
                f"{where}.y must be a [num_nodes] integer tensor of class ids, got {values.dtype} "
                f"{list(values.shape)}"
            )
        values = values.tolist()
    values = _per_node(values, count, "y", where)
    labels = []
    for index, value in enumerate(values):
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            if value < 0:
                labels.append(None)
            elif label_names is None:
                labels.append(int(value))
            elif value >= len(label_names):
                raise ValueError(
                    f"{where}.y[{index}] = {value} has no name in label_names ({len(label_names)})"
                )
            else:
                labels.append(label_names[value])
        elif value is None or isinstance(value, str):
            labels.append(value)
        else:
            raise ValueError(f"{where}.y[{index}] = {value!r}: labels must be class ids or strings")
    return labels


def _edge_index(store, where: str) -> np.ndarray:
    import torch

    edge_index = store.get("edge_index") if hasattr(store, "get") else None
    if edge_index is None:
        return np.zeros((2, 0), dtype=np.int64)
    if not isinstance(edge_index, torch.Tensor) or edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"{where}.edge_index must be a [2, E] tensor")
    if edge_index.dtype == torch.bool or edge_index.is_floating_point():
        raise ValueError(f"{where}.edge_index must hold integer node indices, got {edge_index.dtype}")
    return edge_index.cpu().numpy().astype(np.int64)


def _read_nodes(store, count: int, where: str, texts, images, labels, label_names):
    node_texts = _per_node(_attribute(store, TEXT_ATTRIBUTES, texts, where), count, "texts", where)
    node_images = _per_node(_attribute(store, IMAGE_ATTRIBUTES, images, where), count, "images", where)
    ids = _per_node(_attribute(store, ID_ATTRIBUTES, None, where), count, "node_id", where)
    node_labels = _labels(_attribute(store, ("y",), labels, where), count, label_names, where)
    return node_texts, node_images, ids, node_labels


def graph_from_pyg(
    data,
    *,
    texts: str | None = None,
    images: str | None = None,
    labels: str | None = None,
    label_names: list[str] | None = None,
    directed: bool = False,
    name: str = "graph",
    graph_class: type = MultimodalGraph,
) -> MultimodalGraph:
    """A :class:`MultimodalGraph` from a PyG ``Data`` or ``HeteroData`` (see the module docstring).

    Args:
        texts / images / labels: attribute names to read instead of the defaults.
        label_names: names of the class ids in ``y`` (``label_names[c]`` for class ``c``).
        directed: keep edge directions (default: follow every edge both ways, as Graph4MM does).

    Raises:
        ValueError: naming the node type / attribute: no text nor image attribute, a per-node
            attribute of the wrong length, float or bool ``edge_index`` or ``y``, a node with
            neither text nor image.
    """
    Data, HeteroData = _require_pyg()
    if isinstance(data, HeteroData):
        return _from_hetero(data, texts, images, labels, label_names, directed, name, graph_class)
    if not isinstance(data, Data):
        raise ValueError(f"expected a torch_geometric Data or HeteroData, got {type(data).__name__}")
    count = int(data.num_nodes)
    node_texts, node_images, ids, node_labels = _read_nodes(
        data, count, "data", texts, images, labels, label_names
    )
    if node_texts is None and node_images is None:
        raise ValueError(
            f"data has no node text or image attribute (looked for {TEXT_ATTRIBUTES + IMAGE_ATTRIBUTES}); "
            "pass texts=<attribute> or images=<attribute>"
        )
    return graph_class(
        texts=node_texts,
        images=node_images,
        edges=_edge_index(data, "data"),
        directed=directed,
        node_ids=ids,
        labels=node_labels,
        name=name,
        edge_relations=_per_node(data["edge_relation"], data.num_edges, "edge_relation", "data")
        if "edge_relation" in data
        else None,
    )


def _from_hetero(data, texts, images, labels, label_names, directed, name, graph_class) -> MultimodalGraph:
    offsets: dict[str, int] = {}
    all_texts, all_images, all_ids, all_labels, types = [], [], [], [], []
    have_ids = have_labels = False
    for node_type in data.node_types:
        store, where = data[node_type], f"data[{node_type!r}]"
        count = int(store.num_nodes)
        offsets[node_type] = len(types)
        node_texts, node_images, ids, node_labels = _read_nodes(
            store, count, where, texts, images, labels, label_names
        )
        if node_texts is None and node_images is None and count:
            raise ValueError(
                f"{where} has no node text or image attribute (looked for {TEXT_ATTRIBUTES + IMAGE_ATTRIBUTES}): "
                "every Graph4MM node needs a text or an image"
            )
        all_texts += node_texts if node_texts is not None else [None] * count
        all_images += node_images if node_images is not None else [None] * count
        all_ids += ids if ids is not None else [f"{node_type}/{i}" for i in range(count)]
        have_ids |= ids is not None
        all_labels += node_labels if node_labels is not None else [None] * count
        have_labels |= node_labels is not None
        types += [node_type] * count
    sources, targets, relations = [], [], []
    for edge_type in data.edge_types:
        source_type, relation, target_type = edge_type
        if RELATION_SEPARATOR in relation:
            raise ValueError(f"edge type {edge_type}: relation names must not contain {RELATION_SEPARATOR!r}")
        edge_index = _edge_index(data[edge_type], f"data[{edge_type!r}]")
        sources.append(edge_index[0] + offsets[source_type])
        targets.append(edge_index[1] + offsets[target_type])
        relations += [RELATION_SEPARATOR.join(edge_type)] * edge_index.shape[1]
    edges = np.stack([np.concatenate(sources), np.concatenate(targets)]) if sources else None
    if have_ids and any(isinstance(i, int) for i in all_ids):
        all_ids = [str(i) for i in all_ids]  # ids given per type may repeat across types: keep them as text
    return graph_class(
        texts=all_texts,
        images=all_images,
        edges=edges,
        directed=directed,
        node_ids=all_ids,
        labels=all_labels if have_labels else None,
        name=name,
        node_types=types,
        edge_relations=relations,
    )


def graph_to_pyg(graph: MultimodalGraph, hetero: bool | None = None):
    """``graph`` as a PyG ``Data`` (``text``, ``image``, ``node_id``, ``y``, ``edge_index``,
    ``edge_relation``, ``directed``), or a ``HeteroData`` grouped by ``node_types`` (``hetero=None``:
    when the graph has node types).

    ``y`` is a ``[N]`` long tensor when the labels are integers (``-1`` where unlabelled); string
    labels stay a list. Edges are written as stored: for an undirected graph, apply
    ``torch_geometric.transforms.ToUndirected()`` before message passing.
    """
    import torch

    Data, HeteroData = _require_pyg()
    hetero = graph.node_types is not None if hetero is None else hetero
    if not hetero:
        data = Data(edge_index=torch.from_numpy(graph.edge_index.copy()), num_nodes=graph.num_nodes)
        _write_nodes(data, graph, list(range(graph.num_nodes)))
        if graph.edge_relations is not None:
            data.edge_relation = list(graph.edge_relations)
        data.directed = graph.directed
        return data
    if graph.node_types is None:
        raise ValueError(f"graph {graph.name!r} has no node_types: build a Data (hetero=False)")
    data = HeteroData()
    local = np.zeros(graph.num_nodes, dtype=np.int64)
    for node_type in dict.fromkeys(graph.node_types):
        members = [i for i, t in enumerate(graph.node_types) if t == node_type]
        local[members] = np.arange(len(members))
        data[node_type].num_nodes = len(members)
        _write_nodes(data[node_type], graph, members)
    relations = graph.edge_relations
    grouped: dict[tuple[str, str, str], list[int]] = {}
    for edge, (source, target) in enumerate(graph.edge_index.T.tolist()):
        relation = relations[edge] if relations is not None else "to"
        parts = tuple(relation.split(RELATION_SEPARATOR))
        key = (
            parts
            if len(parts) == 3
            and parts[0] == graph.node_types[source]
            and parts[2] == graph.node_types[target]
            else (graph.node_types[source], relation, graph.node_types[target])
        )
        grouped.setdefault(key, []).append(edge)
    for key, edges in grouped.items():
        pairs = graph.edge_index[:, edges]
        data[key].edge_index = torch.from_numpy(np.stack([local[pairs[0]], local[pairs[1]]]))
    return data


def _write_nodes(store, graph: MultimodalGraph, members: list[int]) -> None:
    import torch

    texts = [graph.texts[i] for i in members]
    images = [graph.images[i] for i in members]
    if any(text is not None for text in texts):
        store.text = texts
    if any(image is not None for image in images):
        store.image = images
    if graph.node_ids is not None:
        store.node_id = [graph.node_ids[i] for i in members]
    if graph.labels is not None:
        labels: list[Any] = [graph.labels[i] for i in members]
        if all(label is None or (isinstance(label, int) and not isinstance(label, bool)) for label in labels):
            store.y = torch.tensor([-1 if label is None else label for label in labels], dtype=torch.long)
        else:
            store.y = labels
