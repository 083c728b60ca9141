"""The Ele-Fashion release as one checked whole: files read, cross-checked, and the graph built once."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np

from ...processing.graph import MultimodalGraph
from .files import (
    EDGES_FILE,
    IMAGE_FOLDER,
    IMAGE_TAR,
    LABELS_FILE,
    NODE_MAPPING_FILE,
    SPLIT_FILE,
    TEXT_FILE,
    checked_label_names,
    read_edges,
    read_labels,
    read_node_mapping,
    read_splits,
    read_texts,
    require,
)
from .images import has_image_source, locate_images

logger = logging.getLogger(__name__)


@dataclass
class ReleaseFiles:
    """The release files' content, each checked against the others (no images looked up).

    Attributes:
        labels: ``[N]`` int64, ``-1`` = unlabelled; N defines the node count for every other file.
        label_names: one name per class id.
        raw_ids: ``[N]`` raw product ids in node order.
        texts: ``[N]`` product texts, None for ids absent from the text file.
        splits: ``{"train", "validation", "test"}`` -> ``[n]`` int64 node indices.
        edges: ``[2, E]`` int64 node indices, all below N.
    """

    labels: np.ndarray
    label_names: tuple[str, ...]
    raw_ids: list[str]
    texts: list[str | None]
    splits: dict[str, np.ndarray]
    edges: np.ndarray


def read_release_files(raw_dir: str | os.PathLike, label_names=None) -> ReleaseFiles:
    """Read and cross-check every release file except the images; errors name the file."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise ValueError(f"Ele-Fashion raw directory {raw_dir} does not exist")
    labels = read_labels(require(raw_dir, LABELS_FILE))
    num_nodes = labels.shape[0]
    names = checked_label_names(raw_dir, label_names, labels)
    raw_ids = read_node_mapping(require(raw_dir, NODE_MAPPING_FILE), num_nodes)
    splits = read_splits(require(raw_dir, SPLIT_FILE), num_nodes)
    edges = read_edges(require(raw_dir, EDGES_FILE), num_nodes)
    texts = read_texts(require(raw_dir, TEXT_FILE), raw_ids)
    return ReleaseFiles(labels, names, raw_ids, texts, splits, edges)


def uses_images(raw_dir: Path, images: bool | str, image_dir: str | os.PathLike | None) -> bool:
    """Whether nodes get images: ``True`` requires a source, ``"auto"`` uses one if present."""
    if images not in (True, False, "auto"):
        raise ValueError(f"images must be True, False or 'auto', got {images!r}")
    available = has_image_source(raw_dir, image_dir)
    if images is True and not available:
        raise ValueError(f"Ele-Fashion: images=True but no {IMAGE_FOLDER}/ or {IMAGE_TAR} in {raw_dir}")
    return images is True or (images == "auto" and available)


def check_every_node_has_content(files: ReleaseFiles, image_paths: list[str | None] | None) -> None:
    """Each node needs a text or an image; ``image_paths=None``: no images, so a text each."""
    for index, text in enumerate(files.texts):
        if text is None and (image_paths is None or image_paths[index] is None):
            raise ValueError(
                f"Ele-Fashion: node {index} (raw id {files.raw_ids[index]!r}) has no text in {TEXT_FILE} "
                "and no image"
            )


@dataclass
class EleFashionRelease:
    """The parsed release: the graph (stored once), labels, splits and class names.

    Attributes:
        graph: undirected ``MultimodalGraph``; node ids = raw product ids, labels = class ids.
        labels: ``[N]`` int64, ``-1`` = unlabelled.
        splits: ``{"train", "validation", "test"}`` -> ``[n]`` int64 node indices.
        label_names: one name per class id.
        num_missing_images: nodes left text-only because their image file was absent.
    """

    graph: MultimodalGraph
    labels: np.ndarray
    splits: dict[str, np.ndarray]
    label_names: tuple[str, ...]
    num_missing_images: int


def read_ele_fashion(
    raw_dir: str | os.PathLike,
    *,
    images: bool | str = "auto",
    image_dir: str | os.PathLike | None = None,
    label_names: list[str] | tuple[str, ...] | None = None,
) -> EleFashionRelease:
    """Parse the release in ``raw_dir``.

    Args:
        images: ``True`` requires an image folder or tar, ``False`` ignores images,
            ``"auto"`` uses them when present.
        image_dir: folder holding (or to extract) ``{asin}.jpg`` files.
        label_names: class names (default: ``label_names.json`` in ``raw_dir``, else ``class i``).
    """
    raw_dir = Path(raw_dir)
    files = read_release_files(raw_dir, label_names)
    num_nodes = files.labels.shape[0]
    if uses_images(raw_dir, images, image_dir):
        image_paths = locate_images(raw_dir, files.raw_ids, image_dir)
        num_missing = sum(path is None for path in image_paths)
    else:
        image_paths, num_missing = [None] * num_nodes, 0
    if num_missing:
        logger.warning(
            "Ele-Fashion: %d of %d products have no image file; they are text-only nodes",
            num_missing,
            num_nodes,
        )
    check_every_node_has_content(files, image_paths)
    graph = MultimodalGraph(
        files.texts,
        image_paths,
        files.edges,
        node_ids=files.raw_ids,
        labels=files.labels.tolist(),
        name="ele-fashion",
    )
    return EleFashionRelease(graph, files.labels, files.splits, files.label_names, num_missing)


def ele_fashion_graph(source: str | os.PathLike | datasets.Dataset | dict, **read_kwargs) -> MultimodalGraph:
    """The Ele-Fashion graph, from the raw release folder or the one-row ``"graph"`` dataset.

    Args:
        source: the raw folder (read with :func:`read_ele_fashion` and ``read_kwargs``), a
            ``Dataset`` / ``DatasetDict`` made by the ``"graph"`` config, or its row dict.
    """
    if isinstance(source, datasets.DatasetDict):
        source = source["graph"]
    if isinstance(source, datasets.Dataset):
        if "graph" not in source.column_names or source.num_rows != 1:
            raise ValueError(
                f"expected the one-row Ele-Fashion 'graph' dataset, got columns {source.column_names}"
            )
        source = source[0]
    if isinstance(source, dict):
        return MultimodalGraph.from_dict(source.get("graph", source))
    return read_ele_fashion(source, **read_kwargs).graph
