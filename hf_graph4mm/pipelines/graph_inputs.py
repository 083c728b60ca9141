"""What the graph pipelines accept as one input, turned into (graph, target node, prompt).

One input is one of:

- the plain dict a Hub user writes, with or without the package installed::

      {"texts": ["a page", None], "images": [None, "photo.jpg"], "edges": [[0, 1]],
       "target": 0, "prompt": "Describe the page:"}

  ``texts`` / ``images`` hold one entry per node (``None`` where a node has none; images are
  file paths, PIL images or encoded bytes; URLs are not fetched), ``edges`` ``[source, target]``
  node-index pairs; ``target`` (or ``target_node``) and ``prompt`` may instead be call arguments;
- a ``MultimodalGraph``, or its ``to_dict()`` / ``{"nodes": [...], "edges": [...]}`` dict;
- ``{"graph": <any of the above>, "target": int, "prompt": str}``.

Entries in the input override the call arguments. A bad input is a ``ValueError`` naming the
field (``images[2]``, ``edges[1]``, ``target``...) and what was expected.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..processing import MultimodalGraph

TARGET_KEYS = ("target", "target_node")
PLAIN_GRAPH_KEYS = ("texts", "images", "edges", "directed", "name")
# MultimodalGraph.to_dict() / from_dict() keys besides the plain ones
GRAPH_DICT_KEYS = ("nodes", "edge_source", "edge_target", "node_ids", "labels")
INPUT_KEYS = (*PLAIN_GRAPH_KEYS, *GRAPH_DICT_KEYS, *TARGET_KEYS, "prompt")


def _is_graph(value: Any) -> bool:
    """A ``MultimodalGraph``, also one from another copy of its module (remote code loads several)."""
    return isinstance(value, MultimodalGraph) or all(
        hasattr(value, attribute) for attribute in ("texts", "images", "edge_index", "num_nodes")
    )


def _check_text(index: int, text: Any) -> None:
    if text is not None and not isinstance(text, str):
        raise ValueError(f"texts[{index}] must be a string or None, got {type(text).__name__}")


def _check_image(index: int, image: Any) -> None:
    """A path to an image file, a PIL image, encoded bytes, or None; anything else names ``images[index]``."""
    if image is None or isinstance(image, (bytes, bytearray)) or hasattr(image, "convert"):
        return  # PIL images (anything with .convert) and bytes are decoded by the processor
    if isinstance(image, dict) and ("bytes" in image or "path" in image):  # a datasets.Image() cell
        return
    if not isinstance(image, (str, os.PathLike)):
        raise ValueError(
            f"images[{index}] must be a file path, a PIL image, encoded bytes or None, got {type(image).__name__}"
        )
    path = os.fspath(image)
    if path.startswith(("http://", "https://")):
        raise ValueError(f"images[{index}] is a URL ({path}); download the image and give its file path")
    if not os.path.isfile(path):
        raise ValueError(f"images[{index}]: there is no file {path!r}")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            opened.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"images[{index}]: {path!r} is not a readable image ({error})") from error


def _node_list(data: dict, field: str) -> list | None:
    values = data.get(field)
    if values is None:
        return None
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
        raise ValueError(f"{field} must be a list with one entry per node, got {type(values).__name__}")
    return list(values)


def _edge_pairs(edges: Any, num_nodes: int) -> list[tuple[int, int]]:
    """``edges`` as validated ``(source, target)`` pairs of node indices."""
    if edges is None:
        return []
    if isinstance(edges, (str, bytes, dict)) or not hasattr(edges, "__len__"):
        raise ValueError(f"edges must be a list of [source, target] node pairs, got {type(edges).__name__}")
    pairs = []
    for position, edge in enumerate(edges):
        if isinstance(edge, (str, bytes)) or not hasattr(edge, "__len__") or len(edge) != 2:
            raise ValueError(
                f"edges[{position}] must be a pair [source, target] of node indices, got {edge!r}"
            )
        for node in edge:
            if isinstance(node, bool) or not isinstance(node, (int, np.integer)):
                raise ValueError(f"edges[{position}] = {list(edge)!r}: node indices must be integers")
            if not 0 <= int(node) < num_nodes:
                raise ValueError(
                    f"edges[{position}] = {list(edge)!r}: there is no node {node} (the graph has {num_nodes} nodes)"
                )
        pairs.append((int(edge[0]), int(edge[1])))
    return pairs


def graph_from_plain_dict(data: dict) -> MultimodalGraph:
    """The graph of a plain ``{"texts", "images", "edges"}`` input, every field checked by name."""
    texts, images = _node_list(data, "texts"), _node_list(data, "images")
    if texts is None and images is None:
        raise ValueError(
            "the input has neither 'texts' nor 'images': give one entry per node in either or both"
        )
    if texts is not None and images is not None and len(texts) != len(images):
        raise ValueError(
            f"texts has {len(texts)} entries but images has {len(images)}: give one entry per node "
            "(None where a node has no text or no image)"
        )
    num_nodes = len(texts if texts is not None else images)
    if num_nodes == 0:
        raise ValueError("the graph has no nodes: texts / images are empty")
    for index, text in enumerate(texts or []):
        _check_text(index, text)
    for index, image in enumerate(images or []):
        _check_image(index, image)
    for index in range(num_nodes):
        if (texts is None or texts[index] is None) and (images is None or images[index] is None):
            raise ValueError(
                f"node {index} has neither a text (texts[{index}]) nor an image (images[{index}])"
            )
    pairs = _edge_pairs(data.get("edges"), num_nodes)
    return MultimodalGraph(
        texts=texts,
        images=images,
        edges=pairs or None,
        directed=bool(data.get("directed", False)),
        name=str(data.get("name") or "graph"),
    )


def as_graph(graph: Any) -> MultimodalGraph:
    """A ``MultimodalGraph`` from a graph or one of its dict forms; anything else is a ValueError."""
    if _is_graph(graph):
        return graph
    if isinstance(graph, dict):
        if "nodes" in graph or "edge_source" in graph or "edge_target" in graph:
            return MultimodalGraph.from_dict(graph)
        return graph_from_plain_dict(graph)
    raise ValueError(
        "expected a graph: a dict {'texts': [...], 'images': [...], 'edges': [[source, target], ...]}, "
        f"a MultimodalGraph or its to_dict(); got {type(graph).__name__}"
    )


def _target_of(inputs: dict, default: Any) -> Any:
    present = [key for key in TARGET_KEYS if key in inputs]
    return inputs[present[0]] if present else default


def parse_graph_input(inputs: Any, target: int | None = None, prompt: str | None = None):
    """``(graph, target, prompt)`` of one pipeline input.

    Raises:
        ValueError: no graph, an unknown field, a bad texts / images / edges entry, no target
            node, a target that is not a node of the graph, or a prompt that is not a string.
    """
    if isinstance(inputs, dict) and "graph" in inputs:
        graph = as_graph(inputs["graph"])
        target, prompt = _target_of(inputs, target), inputs.get("prompt", prompt)
    elif isinstance(inputs, dict) and any(key in inputs for key in (*PLAIN_GRAPH_KEYS, *GRAPH_DICT_KEYS)):
        unknown = sorted(set(inputs) - set(INPUT_KEYS))
        if unknown:
            raise ValueError(f"unknown input field(s) {unknown}; expected some of {list(INPUT_KEYS)}")
        graph = as_graph({key: value for key, value in inputs.items() if key not in (*TARGET_KEYS, "prompt")})
        target, prompt = _target_of(inputs, target), inputs.get("prompt", prompt)
    elif _is_graph(inputs):
        graph = inputs
    else:
        raise ValueError(
            "each input must be a dict {'texts': [...], 'images': [...], 'edges': [...], 'target': node}, "
            "a MultimodalGraph (or its to_dict()), or {'graph': ..., 'target': node}; "
            f"got {type(inputs).__name__}"
        )
    if target is None:
        raise ValueError(
            f"graph {graph.name!r}: no target node given; pass target=<node index> "
            "or put 'target' in the input"
        )
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ValueError(f"graph {graph.name!r}: the target node must be an integer index, got {target!r}")
    if not 0 <= int(target) < graph.num_nodes:
        raise ValueError(
            f"graph {graph.name!r} has {graph.num_nodes} nodes; there is no target node {target}"
        )
    if prompt is not None and not isinstance(prompt, str):
        raise ValueError(f"prompt must be a string, got {type(prompt).__name__}")
    return graph, int(target), prompt
