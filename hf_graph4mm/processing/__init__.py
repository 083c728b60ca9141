"""Multimodal graphs, subgraph extraction, the Graph4MM processor and collator, the GsiT collator."""

from .collator import Graph4MMCollator, pad_examples
from .graph import EDGE_TYPES, MultimodalGraph, Node, load_image
from .processor import Graph4MMProcessor
from .sentiment import GsiTCollator
from .subgraph import ModalitySubgraph, Subgraph, extract_subgraph, hop_distances

__all__ = [
    "EDGE_TYPES",
    "Graph4MMCollator",
    "Graph4MMProcessor",
    "GsiTCollator",
    "ModalitySubgraph",
    "MultimodalGraph",
    "Node",
    "Subgraph",
    "extract_subgraph",
    "hop_distances",
    "load_image",
    "pad_examples",
]
