"""What the graph pipelines accept as one input, turned into (graph, target node, prompt).

One input is a ``MultimodalGraph`` (or its ``to_dict()`` dict) with the target given as a
call argument, or a dict ``{"graph": ..., "target": int, "prompt": str}`` whose entries
override the call arguments (``target_node`` is accepted for ``target``, matching the
dataset column name).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..processing import MultimodalGraph

GRAPH_DICT_KEYS = (
    "texts",
    "images",
    "nodes",
)  # what marks a dict as a graph itself (MultimodalGraph.to_dict())


def as_graph(graph: Any) -> MultimodalGraph:
    """A ``MultimodalGraph`` from a graph or its dict form; anything else is a ValueError."""
    if isinstance(graph, MultimodalGraph):
        return graph
    if isinstance(graph, dict):
        return MultimodalGraph.from_dict(graph)
    raise ValueError(
        f"expected a MultimodalGraph or a dict with its nodes and edges, got {type(graph).__name__}"
    )


def parse_graph_input(inputs: Any, target: int | None = None, prompt: str | None = None):
    """``(graph, target, prompt)`` of one pipeline input.

    Raises:
        ValueError: no graph, no target node, or a target that is not a node of the graph.
    """
    if isinstance(inputs, dict) and "graph" in inputs:
        graph = as_graph(inputs["graph"])
        target = inputs.get("target", inputs.get("target_node", target))
        prompt = inputs.get("prompt", prompt)
    elif isinstance(inputs, MultimodalGraph) or (
        isinstance(inputs, dict) and any(key in inputs for key in GRAPH_DICT_KEYS)
    ):
        graph = as_graph(inputs)
    else:
        raise ValueError(
            "each input must be a MultimodalGraph, a graph dict (MultimodalGraph.to_dict()), or "
            f"{{'graph': ..., 'target': node}}; got {type(inputs).__name__}"
        )
    if target is None:
        raise ValueError(
            f"graph {graph.name!r}: no target node given; pass target=<node index> "
            "or an input {'graph': ..., 'target': ...}"
        )
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ValueError(f"graph {graph.name!r}: the target node must be an integer index, got {target!r}")
    if not 0 <= int(target) < graph.num_nodes:
        raise ValueError(
            f"graph {graph.name!r} has {graph.num_nodes} nodes; there is no target node {target}"
        )
    return graph, int(target), prompt
