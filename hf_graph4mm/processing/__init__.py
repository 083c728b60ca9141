"""Multimodal graphs, subgraph extraction, the Graph4MM processor and collator."""

from .graph import EDGE_TYPES, MultimodalGraph, Node, load_image
from .subgraph import ModalitySubgraph, Subgraph, extract_subgraph, hop_distances

__all__ = [
    "EDGE_TYPES",
    "ModalitySubgraph",
    "MultimodalGraph",
    "Node",
    "Subgraph",
    "extract_subgraph",
    "hop_distances",
    "load_image",
]
