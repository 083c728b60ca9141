"""The nodes table: one row per node, checked column by column.

Columns (names configurable in :class:`NodeColumns`):

======================  ==========================================================================
``id``                  integer, or string with ``string_ids=True``; unique (see :mod:`.ids`)
``text``                the node's text; empty or missing = no text
``image``               a file path (relative to ``images_dir``, else to the table's folder), encoded
                        image bytes, or a ``datasets.Image()`` cell; empty or missing = no image
``label`` (optional)    a class: a name (string) or a class id (integer, named by ``label_names``)
``target_text``         (optional) the text the model should generate for this node
``split`` (optional)    ``train`` / ``validation`` / ``test`` (``val``, ``valid``, ``dev`` accepted)
======================  ==========================================================================

Every node needs a text, an image or both. Images are checked (the file exists and PIL can
read it) here, so a bad one is named before anything is written.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .ids import NodeIds, read_node_ids
from .tables import Table

SPLITS = ("train", "validation", "test")
SPLIT_ALIASES = {"val": "validation", "valid": "validation", "dev": "validation", "eval": "validation"}


@dataclass(frozen=True)
class NodeColumns:
    """Column names of the nodes table."""

    id: str = "id"
    text: str = "text"
    image: str = "image"
    label: str = "label"
    target_text: str = "target_text"
    split: str = "split"


DEFAULT_NODE_COLUMNS = NodeColumns()


@dataclass
class Nodes:
    """The checked nodes, in table order (node ``i`` = row ``i``).

    ``images`` hold ``{"bytes", "path"}`` dicts (``embed_images=True``) or absolute file paths;
    ``labels`` are names, class ids or ``None``; ``splits`` a split name or ``None`` per node.
    """

    ids: NodeIds
    texts: list[str | None]
    images: list[Any]
    labels: list[Any] | None
    target_texts: list[str | None] | None
    splits: list[str | None] | None


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_image_bytes(data: bytes, where: str) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{where}: the image is not readable ({error})") from error


def stored_image(value, where: str, folder: Path | None = None, embed: bool = True):
    """A node's image as ``{"bytes", "path"}`` (embedded) or an absolute path; checked either way.

    ``value``: a path (relative ones resolved in ``folder``), encoded bytes, a ``datasets.Image()``
    cell or a PIL image (encoded as PNG). Without ``embed``, only files can be referred to.
    """
    if _blank(value):
        return None
    if hasattr(value, "save") and hasattr(value, "convert"):  # a PIL image
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        value = buffer.getvalue()
    if isinstance(value, dict) and ("bytes" in value or "path" in value):  # a datasets.Image() cell
        if value.get("bytes") is not None:
            value = bytes(value["bytes"])
        else:
            value = value.get("path")
            if _blank(value):
                return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        if not embed:
            raise ValueError(
                f"{where}: an image given as bytes can only be stored embedded (embed_images=True)"
            )
        data = bytes(value)
        _check_image_bytes(data, where)
        return {"bytes": data, "path": None}
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(
            f"{where}: an image must be a file path or encoded bytes, got {type(value).__name__}"
        )
    text = os.fspath(value)
    if text.startswith(("http://", "https://")):
        raise ValueError(f"{where}: image {text!r} is a URL; download it and give the file path")
    path = Path(text)
    if not path.is_absolute() and folder is not None:
        path = folder / path
    if not path.is_file():
        raise ValueError(f"{where}: image file {str(path)!r} does not exist")
    data = path.read_bytes()
    _check_image_bytes(data, f"{where} ({path})")
    return {"bytes": data, "path": path.name} if embed else str(path.resolve())


def _split(value, where: str) -> str | None:
    if _blank(value):
        return None
    name = SPLIT_ALIASES.get(str(value).strip().lower(), str(value).strip().lower())
    if name not in SPLITS:
        raise ValueError(f"{where}: split {value!r} is not one of {SPLITS} (or {sorted(SPLIT_ALIASES)})")
    return name


def _label(value, where: str):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (bool, np.bool_, float)):
        raise ValueError(
            f"{where}: label {value!r} is a {type(value).__name__}; use a class name or an integer id"
        )
    if isinstance(value, (int, np.integer)):
        return None if value < 0 else int(value)  # -1: unlabelled, as in the release datasets
    if isinstance(value, str):
        return value.strip()
    raise ValueError(f"{where}: label {value!r} must be a class name or an integer id")


def read_nodes(
    table: Table,
    images_dir: str | os.PathLike | None = None,
    *,
    string_ids: bool = False,
    embed_images: bool = True,
    columns: NodeColumns = DEFAULT_NODE_COLUMNS,
) -> Nodes:
    """Check every row of the nodes ``table`` (see the module docstring)."""
    ids = read_node_ids(table, columns.id, string_ids=string_ids)
    if not table.has(columns.text) and not table.has(columns.image):
        raise ValueError(
            f"{table.source}: neither a {columns.text!r} nor an {columns.image!r} column; "
            f"columns: {sorted(table.columns)}"
        )
    if images_dir is not None and not Path(images_dir).is_dir():
        raise ValueError(f"images folder {images_dir} does not exist")
    folder = Path(images_dir) if images_dir is not None else None
    if folder is None and Path(table.source).is_file():
        folder = Path(table.source).parent
    texts, images = [], []
    raw_texts = table.optional(columns.text) or [None] * table.num_rows
    raw_images = table.optional(columns.image) or [None] * table.num_rows
    for row, (text, image) in enumerate(zip(raw_texts, raw_images)):
        where = f"{table.where(row)} (node {ids.ids[row]!r})"
        if text is not None and not isinstance(text, str):
            raise ValueError(f"{where}: text must be a string, got {type(text).__name__} {text!r}")
        texts.append(None if _blank(text) else text)
        images.append(stored_image(image, where, folder, embed_images))
        if texts[-1] is None and images[-1] is None:
            raise ValueError(f"{where}: the node has neither a text nor an image")
    labels = target_texts = splits = None
    if table.has(columns.label):
        labels = [
            _label(value, f"{table.where(row)} (node {ids.ids[row]!r})")
            for row, value in enumerate(table.columns[columns.label])
        ]
        kinds = {type(label) for label in labels if label is not None}
        if len(kinds) > 1:
            raise ValueError(f"{table.source}: labels mix class names and integer ids; use one kind")
    if table.has(columns.target_text):
        target_texts = []
        for row, value in enumerate(table.columns[columns.target_text]):
            if value is not None and not isinstance(value, str):
                raise ValueError(
                    f"{table.where(row)}: target_text must be a string, got {type(value).__name__}"
                )
            target_texts.append(None if _blank(value) else value)
    if table.has(columns.split):
        splits = [_split(value, table.where(row)) for row, value in enumerate(table.columns[columns.split])]
    return Nodes(ids=ids, texts=texts, images=images, labels=labels, target_texts=target_texts, splits=splits)
