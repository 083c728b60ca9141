"""From a user's tables (or a graph) to a Graph4MM dataset folder, in one call.

    from hf_graph4mm.data.user_graph import build_graph_dataset
    built = build_graph_dataset("nodes.parquet", "edges.csv", "out/", images_dir="images/")

:func:`graph_from_tables` reads and checks the tables (:mod:`.nodes`, :mod:`.edges`) into a
:class:`~hf_graph4mm.processing.MultimodalGraph`; :func:`write_graph_dataset` turns any graph
with labels or target texts (for instance ``MultimodalGraph.from_pyg(data)``) into the dataset
layout of :mod:`.layout`; :func:`build_graph_dataset` does both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...processing import MultimodalGraph
from .edges import DEFAULT_EDGE_COLUMNS, EdgeColumns, read_edges
from .examples import DEFAULT_FRACTIONS, select_examples
from .labels import Verbalizer
from .layout import GraphDataset, write_graph_dataset_files
from .nodes import DEFAULT_NODE_COLUMNS, SPLITS, NodeColumns, read_nodes, stored_image
from .tables import read_table


@dataclass
class TableGraph:
    """A graph read from tables, with the per-node columns the graph itself does not hold."""

    graph: MultimodalGraph
    target_texts: list[str | None] | None
    splits: list[str | None] | None


def graph_from_tables(
    nodes: Any,
    edges: Any = None,
    images_dir: str | os.PathLike | None = None,
    *,
    string_ids: bool = False,
    directed: bool = False,
    embed_images: bool = True,
    name: str = "graph",
    node_columns: NodeColumns = DEFAULT_NODE_COLUMNS,
    edge_columns: EdgeColumns = DEFAULT_EDGE_COLUMNS,
) -> TableGraph:
    """Read a nodes table and an edges table (file paths or in-memory rows; see :mod:`.tables`).

    Node ``i`` is row ``i`` of the nodes table; ``graph.node_ids`` keeps the tables' ids and
    ``graph.labels`` the ``label`` column. ``edges=None``: a graph without edges.
    """
    text_columns = (node_columns.text, node_columns.image, node_columns.target_text, node_columns.split)
    node_table = read_table(nodes, "nodes", text_columns)
    checked = read_nodes(
        node_table, images_dir, string_ids=string_ids, embed_images=embed_images, columns=node_columns
    )
    edge_index, relations = None, None
    if edges is not None:
        edge_index, relations = read_edges(
            read_table(edges, "edges", (edge_columns.type,)), checked.ids, edge_columns
        )
    graph = MultimodalGraph(
        texts=checked.texts,
        images=checked.images,
        edges=edge_index,
        directed=directed,
        node_ids=checked.ids.ids,
        labels=checked.labels,
        name=name,
        edge_relations=relations,
    )
    return TableGraph(graph=graph, target_texts=checked.target_texts, splits=checked.splits)


def _per_node(values, graph: MultimodalGraph, field: str) -> list | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or len(values) != graph.num_nodes:
        raise ValueError(f"{field} must hold one entry per node ({graph.num_nodes})")
    return list(values)


def write_graph_dataset(
    graph: MultimodalGraph,
    output_dir: str | os.PathLike,
    *,
    target_texts: Sequence[str | None] | None = None,
    splits: Sequence[str | None] | None = None,
    label_names: Sequence[str] | None = None,
    verbalizers: Mapping[str, str] | Sequence[str] | None = None,
    verbalizer_template: str = "{}",
    layout: str = "shared",
    format: str = "parquet",
    hops: int = 2,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    embed_images: bool = True,
    prompt: str | None = None,
) -> GraphDataset:
    """Write a dataset whose examples are the nodes of ``graph`` with a target text or a label.

    Args:
        target_texts: per node, the text to generate (``None``: use the label's verbaliser).
        splits: per node, ``"train"`` / ``"validation"`` / ``"test"`` or ``None`` (split at random
            by ``fractions`` with ``seed``).
        label_names: names of integer class ids in ``graph.labels`` (default ``"class {id}"``);
            with string labels, the label set and its order (default: the names found, sorted).
        verbalizers / verbalizer_template: the text of each class (see :mod:`.labels`).
        layout / format / hops: see :mod:`.layout`.
        embed_images: store image bytes in the dataset (portable), else absolute file paths.
        prompt: an instruction stored in every row's ``prompt`` column (e.g. ``"What is this
            product?"``), so training, evaluation and prediction all use the same one.
    """
    target_texts = _per_node(target_texts, graph, "target_texts")
    splits = _per_node(splits, graph, "splits")
    for index, split in enumerate(splits or []):
        if split is not None and split not in SPLITS:
            raise ValueError(f"splits[{index}] = {split!r} is not one of {SPLITS}")
    verbalizer = None
    if graph.labels is not None and any(label is not None for label in graph.labels):
        verbalizer = Verbalizer.from_labels(
            graph.labels, label_names, verbalizers=verbalizers, template=verbalizer_template
        )
    images = [
        stored_image(image, f"graph {graph.name!r} node {index}", embed=embed_images)
        for index, image in enumerate(graph.images)
    ]
    node_ids = graph.node_ids if graph.node_ids is not None else list(range(graph.num_nodes))
    stored = MultimodalGraph(
        texts=graph.texts,
        images=images,
        edges=graph.edge_index,
        directed=graph.directed,
        node_ids=node_ids,
        labels=None
        if verbalizer is None
        else [None if l is None else verbalizer.name_of(l) for l in graph.labels],  # noqa: E741
        name=graph.name,
        node_types=graph.node_types,
        edge_relations=graph.edge_relations,
    )
    examples = select_examples(node_ids, stored.labels, target_texts, splits, verbalizer, fractions, seed)
    return write_graph_dataset_files(
        stored,
        examples,
        output_dir,
        verbalizer=verbalizer,
        layout=layout,
        format=format,
        hops=hops,
        embedded_images=embed_images,
        prompt=prompt,
    )


def build_graph_dataset(
    nodes: Any,
    edges: Any,
    output_dir: str | os.PathLike,
    images_dir: str | os.PathLike | None = None,
    *,
    string_ids: bool = False,
    directed: bool = False,
    name: str | None = None,
    node_columns: NodeColumns = DEFAULT_NODE_COLUMNS,
    edge_columns: EdgeColumns = DEFAULT_EDGE_COLUMNS,
    **write_options,
) -> GraphDataset:
    """:func:`graph_from_tables` then :func:`write_graph_dataset` (its keyword options apply)."""
    if name is None:
        name = Path(output_dir).name or "graph"
    embed = write_options.get("embed_images", True)
    read = graph_from_tables(
        nodes,
        edges,
        images_dir,
        string_ids=string_ids,
        directed=directed,
        embed_images=embed,
        name=name,
        node_columns=node_columns,
        edge_columns=edge_columns,
    )
    write_options.setdefault("target_texts", read.target_texts)
    write_options.setdefault("splits", read.splits)
    return write_graph_dataset(read.graph, output_dir, **write_options)
