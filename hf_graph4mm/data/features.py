"""The ``datasets`` feature type of a graph column: ``MultimodalGraph.to_dict()``'s layout."""

from __future__ import annotations

import datasets


def graph_feature(label_dtype: str = "string") -> dict:
    """Features of one ``graph`` cell; ``label_dtype`` types the per-node labels."""
    return {
        "name": datasets.Value("string"),
        "texts": datasets.List(datasets.Value("string")),
        "images": datasets.List(datasets.Value("string")),
        "edge_source": datasets.List(datasets.Value("int64")),
        "edge_target": datasets.List(datasets.Value("int64")),
        "directed": datasets.Value("bool"),
        "node_ids": datasets.List(datasets.Value("string")),
        "labels": datasets.List(datasets.Value(label_dtype)),
    }
