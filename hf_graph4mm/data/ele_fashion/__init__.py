"""Ele-Fashion (Multimodal Graph Benchmark) from its release files, for zero-shot node classification.

Modules: :mod:`.files` (one reader per release file, each checking its layout), :mod:`.images`
(each product's image file), :mod:`.release` (the files cross-checked, the graph) and
:mod:`.builder` (the ``datasets`` builder, :func:`load_ele_fashion`; the release layout).
"""

from .._testing_exports import testing_exports
from .builder import (
    EleFashion,
    EleFashionConfig,
    check_ele_fashion_release,
    load_ele_fashion,
    load_ele_fashion_graph_dataset,
    parse_seen_classes,
)
from .files import (
    DEFAULT_LABEL_NAMES,
    EDGES_FILE,
    IMAGE_FOLDER,
    IMAGE_TAR,
    LABEL_NAMES_FILE,
    LABELS_FILE,
    NODE_MAPPING_FILE,
    NUM_CLASSES,
    SPLIT_FILE,
    SPLIT_KEYS,
    TEXT_FILE,
    load_pt,
    read_edges,
    read_label_names,
    read_labels,
    read_node_mapping,
    read_splits,
    read_texts,
)
from .images import IMAGE_SUFFIXES, locate_images
from .release import EleFashionRelease, ReleaseFiles, ele_fashion_graph, read_ele_fashion, read_release_files

_SAMPLE_NAMES = (
    "SAMPLE_LABEL_NAMES",
    "SAMPLE_RAW_DIR",
    "write_ele_fashion_sample",
    "write_ele_fashion_sample_data",
)

__all__ = [
    "DEFAULT_LABEL_NAMES",
    "EDGES_FILE",
    "IMAGE_FOLDER",
    "IMAGE_SUFFIXES",
    "IMAGE_TAR",
    "LABEL_NAMES_FILE",
    "LABELS_FILE",
    "NODE_MAPPING_FILE",
    "NUM_CLASSES",
    "SPLIT_FILE",
    "SPLIT_KEYS",
    "TEXT_FILE",
    "EleFashion",
    "EleFashionConfig",
    "EleFashionRelease",
    "ReleaseFiles",
    "check_ele_fashion_release",
    "ele_fashion_graph",
    "load_ele_fashion",
    "load_ele_fashion_graph_dataset",
    "load_pt",
    "locate_images",
    "parse_seen_classes",
    "read_edges",
    "read_ele_fashion",
    "read_label_names",
    "read_labels",
    "read_node_mapping",
    "read_release_files",
    "read_splits",
    "read_texts",
    *_SAMPLE_NAMES,
]

__getattr__ = testing_exports(__name__, "samples.ele_fashion", _SAMPLE_NAMES)
