"""Readers for the Ele-Fashion release files, each checking its file's layout.

Every reader takes the file's path and raises ``ValueError("<path>: ...")`` naming what was
expected when the content has another layout (wrong type, shape, direction or range), so a
malformed release fails before any dataset generation starts. Layouts (N = products):

- ``nc_edges-nodeid.pt``: ``[E, 2]`` (or ``[2, E]``) integer node-index pairs;
- ``labels-w-missing.pt``: ``[N]`` integer class ids, ``-1`` = unlabelled;
- ``split.pt``: ``{"train_idx", "val_idx", "test_idx"}`` -> ``[n]`` integer node indices;
- ``node_mapping.pt``: ``{raw product id (ASIN, a string): node index}``;
- ``ele-fashion-raw-text.jsonl``: one ``{"asin", "raw_text"}`` (or ``{"id", "text"}``) per line;
- ``label_names.json`` (optional, not part of the release): a JSON list of class names.

The ``.pt`` files are pickles, read with ``torch.load(weights_only=True)`` plus numpy arrays.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct

EDGES_FILE = "nc_edges-nodeid.pt"
LABELS_FILE = "labels-w-missing.pt"
SPLIT_FILE = "split.pt"
NODE_MAPPING_FILE = "node_mapping.pt"
TEXT_FILE = "ele-fashion-raw-text.jsonl"
IMAGE_FOLDER = "ele-fashion-images"
IMAGE_TAR = "ele-fashion-images.tar"
LABEL_NAMES_FILE = "label_names.json"
NUM_CLASSES = 11
DEFAULT_LABEL_NAMES = tuple(f"class {index}" for index in range(NUM_CLASSES))
SPLIT_KEYS = {"train": ("train_idx",), "validation": ("val_idx", "valid_idx"), "test": ("test_idx",)}


def locate(raw_dir: Path, name: str) -> Path | None:
    """``raw_dir/name`` or ``raw_dir/raw-data/name`` (the Hub release keeps texts and images there)."""
    for folder in (raw_dir, raw_dir / "raw-data"):
        if (folder / name).exists():
            return folder / name
    return None


def require(raw_dir: Path, name: str) -> Path:
    path = locate(raw_dir, name)
    if path is None:
        raise ValueError(f"Ele-Fashion: {name} not found in {raw_dir} (nor in its raw-data/ folder)")
    return path


def load_pt(path: str | os.PathLike) -> Any:
    """``torch.load(weights_only=True)`` that also accepts plain numpy arrays, nothing else."""
    allowed: list = [np.ndarray, np.dtype, _reconstruct]
    # Files written under numpy 1 name the rebuilder by its old module path.
    allowed += [(_reconstruct, "numpy.core.multiarray._reconstruct")]
    allowed += [type(np.dtype(kind)) for kind in ("int64", "int32", "float32", "float64", "bool")]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError or EOFError here
        try:  # name the offending globals when the file is a readable torch zip archive
            refused = sorted(
                set(torch.serialization.get_unsafe_globals_in_checkpoint(path)) - _names(allowed)
            )
        except Exception:
            refused = []
        reason = (
            f"forbidden globals {refused}"
            if refused
            else f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        )
        raise ValueError(
            f"{path}: cannot be read with torch.load(weights_only=True) ({reason}); "
            "the file must hold only tensors, numpy arrays and plain containers"
        ) from None


def _names(objects) -> set[str]:
    return {obj[1] if isinstance(obj, tuple) else f"{obj.__module__}.{obj.__qualname__}" for obj in objects}


def _int_array(value: Any, path: Path, what: str) -> np.ndarray:
    """``value`` as int64; integral floats are accepted, booleans (masks) and text are not."""
    if isinstance(value, dict):
        raise ValueError(
            f"{path}: expected {what} as a tensor or array, got a dict with keys {sorted(map(str, value))[:5]}"
        )
    try:
        array = value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: expected {what} as a tensor or array ({error})") from None
    if array.dtype == bool:
        raise ValueError(
            f"{path}: expected {what} as integers, got a boolean mask of shape {tuple(array.shape)}"
        )
    numeric = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    if not numeric or (array.size and not np.all(np.isfinite(array) & (np.mod(array, 1) == 0))):
        raise ValueError(f"{path}: expected {what} as integers, got dtype {array.dtype}")
    return array.astype(np.int64)


def _vector(value: Any, path: Path, what: str) -> np.ndarray:
    """A ``[n]`` (or ``[n, 1]``) integer array as ``[n]``."""
    array = _int_array(value, path, what)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{path}: expected {what} of shape [n], got shape {tuple(array.shape)}")
    return array


def read_edges(path: Path, num_nodes: int | None = None) -> np.ndarray:
    """``[2, E]`` int64 edge index from an ``[E, 2]`` (as released) or ``[2, E]`` edge list."""
    edges = _int_array(load_pt(path), path, "an [E, 2] edge list of node indices")
    if edges.ndim != 2 or 2 not in edges.shape:
        raise ValueError(f"{path}: expected an [E, 2] edge list, got shape {tuple(edges.shape)}")
    edges = np.ascontiguousarray(edges if edges.shape[0] == 2 and edges.shape[1] != 2 else edges.T)
    if num_nodes is not None:
        for bad, problem in (
            (np.flatnonzero((edges < 0).any(axis=0)), "has a negative node index"),
            (np.flatnonzero((edges >= num_nodes).any(axis=0)), f"points past the {num_nodes} nodes"),
        ):
            if bad.size:
                source, target = edges[:, bad[0]].tolist()
                raise ValueError(
                    f"{path}: edge #{int(bad[0])} ({source}, {target}) {problem} "
                    f"(expected node indices in 0..{num_nodes - 1}, one per entry of {LABELS_FILE})"
                )
    return edges


def read_labels(path: Path) -> np.ndarray:
    """``[N]`` int64 class ids; ``-1`` = unlabelled."""
    labels = _vector(load_pt(path), path, "[N] class ids (-1 = unlabelled)")
    bad = np.flatnonzero(labels < -1)
    if bad.size:
        raise ValueError(
            f"{path}: node {int(bad[0])} has label {int(labels[bad[0]])} (only -1 means unlabelled)"
        )
    return labels


def read_splits(path: Path, num_nodes: int) -> dict[str, np.ndarray]:
    """``{"train", "validation", "test"}`` -> node indices, from the release's ``*_idx`` keys."""
    content = load_pt(path)
    if not isinstance(content, dict):
        raise ValueError(
            f"{path}: expected a dict with train_idx/val_idx/test_idx, got {type(content).__name__}"
        )
    splits = {}
    for split, keys in SPLIT_KEYS.items():
        key = next((key for key in keys if key in content), None)
        if key is None:
            raise ValueError(f"{path}: no {' or '.join(keys)} entry (has: {sorted(map(str, content))})")
        indices = _vector(content[key], path, f"{key} (node indices)")
        bad = np.flatnonzero((indices < 0) | (indices >= num_nodes))
        if bad.size:
            raise ValueError(
                f"{path}: {key} lists node {int(indices[bad[0]])}, outside the {num_nodes} nodes"
            )
        splits[split] = indices
    return splits


def _is_index(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and not value.is_floating_point() and value.dtype != torch.bool
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def read_node_mapping(path: Path, num_nodes: int) -> list[str]:
    """Raw product ids ordered by node index, from ``{raw id: node index}``."""
    mapping = load_pt(path)
    if not isinstance(mapping, dict):
        raise ValueError(f"{path}: expected a dict {{raw id: node index}}, got {type(mapping).__name__}")
    raw_ids: list[str | None] = [None] * num_nodes
    for raw_id, index in mapping.items():
        if not _is_index(index):
            if _is_index(raw_id) and isinstance(index, str):
                raise ValueError(
                    f"{path}: expected {{raw product id (ASIN): node index}} as released, got "
                    f"{{node index: raw id}} (e.g. {int(raw_id)} -> {index!r}); invert the dict"
                )
            raise ValueError(f"{path}: raw id {raw_id!r} maps to {index!r}; expected an integer node index")
        if not isinstance(raw_id, str):
            raise ValueError(f"{path}: key {raw_id!r} should be a raw product id (a string)")
        index = int(index)
        if not 0 <= index < num_nodes:
            raise ValueError(f"{path}: raw id {raw_id!r} maps to node {index}, outside the {num_nodes} nodes")
        if raw_ids[index] is not None:
            raise ValueError(f"{path}: raw ids {raw_ids[index]!r} and {raw_id!r} both map to node {index}")
        raw_ids[index] = raw_id
    missing = [index for index, raw_id in enumerate(raw_ids) if raw_id is None]
    if missing:
        raise ValueError(
            f"{path}: {len(missing)} of the {num_nodes} nodes in {LABELS_FILE} have no raw id, "
            f"e.g. node {missing[0]}"
        )
    return raw_ids  # type: ignore[return-value]


def read_texts(path: Path, raw_ids: list[str]) -> list[str | None]:
    """Per-node text from the jsonl (``{"asin","raw_text"}`` or ``{"id","text"}``); None where absent."""
    by_raw_id: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {line_number}: not valid JSON ({error.msg})") from None
            raw_id = record.get("asin", record.get("id")) if isinstance(record, dict) else None
            text = record.get("raw_text", record.get("text")) if isinstance(record, dict) else None
            if raw_id is None or text is None:
                raise ValueError(f"{path}, line {line_number}: expected keys asin/raw_text (or id/text)")
            if isinstance(text, list):  # some MM-Graph text files hold a list of strings per product
                text = " ".join(str(part) for part in text)
            by_raw_id[str(raw_id)] = str(text)
    texts = [by_raw_id.get(raw_id) or None for raw_id in raw_ids]
    if by_raw_id and all(text is None for text in texts):
        # Every product missing means the file belongs to another release (or another id scheme).
        raise ValueError(
            f"{path}: none of its {len(by_raw_id)} product ids is a key of {NODE_MAPPING_FILE} "
            f"(e.g. {next(iter(by_raw_id))!r} in the text file, {raw_ids[0]!r} in the mapping)"
        )
    return texts


def read_label_names(raw_dir: Path, label_names: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """The argument, else ``label_names.json`` in ``raw_dir``, else :data:`DEFAULT_LABEL_NAMES`."""
    if label_names is None:
        path = locate(raw_dir, LABEL_NAMES_FILE)
        if path is None:
            return DEFAULT_LABEL_NAMES
        try:
            label_names = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON ({error.msg})") from None
        if not isinstance(label_names, list):
            raise ValueError(f"{path}: expected a JSON list of class names")
    names = tuple(str(name) for name in label_names)
    if len(set(names)) != len(names):
        raise ValueError(f"Ele-Fashion label names must be unique, got {list(names)}")
    return names


def checked_label_names(raw_dir: Path, label_names, labels: np.ndarray) -> tuple[str, ...]:
    """:func:`read_label_names`, checked to name every class id that occurs in ``labels``."""
    names = read_label_names(raw_dir, label_names)
    if labels.max(initial=-1) >= len(names):
        raise ValueError(
            f"Ele-Fashion: labels go up to {int(labels.max())} but only {len(names)} label names are given"
        )
    return names
