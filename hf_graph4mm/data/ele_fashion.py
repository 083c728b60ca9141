"""Ele-Fashion (Multimodal Graph Benchmark) from its release files, for zero-shot node classification.

Release layout (``raw_dir``; the raw text and images may sit in ``raw_dir/raw-data/``):

- ``nc_edges-nodeid.pt``: co-purchase edges as ``[E, 2]`` node-index pairs (``[2, E]`` is
  accepted too); the graph is undirected;
- ``labels-w-missing.pt``: ``[N]`` class ids in ``0..10``, ``-1`` = unlabelled;
- ``split.pt``: ``{"train_idx", "val_idx", "test_idx"}`` node-index arrays;
- ``node_mapping.pt``: ``{raw product id (ASIN): node index}``;
- ``ele-fashion-raw-text.jsonl``: one product per line, ``{"asin", "raw_text"}`` (the keys the
  benchmark's loaders read) or ``{"id", "text"}``;
- ``ele-fashion-images/`` (``{asin}.jpg``) or the released ``ele-fashion-images.tar``
  (extracted once, safely, next to the tar or into ``image_dir``). Without images the
  nodes carry text only; products without an image file are text-only nodes (counted).

The ``.pt`` files are pickles: they are read with ``torch.load(weights_only=True)`` (numpy
arrays allowed, nothing executable) and anything else is refused with a clear error.

**The graph is stored once.** Per-split examples only name their target node
(``node_index`` / ``target_node``); the 97,766-node graph is built by
:func:`ele_fashion_graph` from the raw files, or rebuilt from the one-row ``"graph"``
builder config (column ``graph`` in ``MultimodalGraph.to_dict()`` layout) that the dataset
script writes as its own parquet config. Subgraphs are extracted at processing time.

**Zero-shot protocol.** ``seen_classes`` (ids or names) are the classes trained on: the
``train`` split keeps labelled training nodes of seen classes only; ``validation`` and
``test`` keep all labelled nodes with an ``is_seen_class`` flag (filter on it for the
unseen-class evaluation). Unlabelled nodes (``-1``) are in no split. ``seen_classes=None``
means every class is seen (the ordinary supervised protocol).

**Label names.** The release ships class ids only. Names for verbalisation come from the
``label_names`` argument, else a ``label_names.json`` (a list of 11 strings) in ``raw_dir``,
else the documented default ``"class 0"`` ... ``"class 10"``.
"""

from __future__ import annotations

import json
import logging
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch

from ..processing.graph import MultimodalGraph
from .graph_features import graph_feature

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct

logger = logging.getLogger(__name__)

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
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
SPLIT_KEYS = {"train": ("train_idx",), "validation": ("val_idx", "valid_idx"), "test": ("test_idx",)}
SAMPLE_RAW_DIR = Path(__file__).resolve().parents[1] / "sample_data" / "ele_fashion"


# ---------------------------------------------------------------------------------------- release files
def _locate(raw_dir: Path, name: str) -> Path | None:
    for folder in (raw_dir, raw_dir / "raw-data"):
        if (folder / name).exists():
            return folder / name
    return None


def _require(raw_dir: Path, name: str) -> Path:
    path = _locate(raw_dir, name)
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


def _int_array(value: Any, path: Path) -> np.ndarray:
    array = value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.integer) or np.all(np.mod(array, 1) == 0)):
        raise ValueError(f"{path}: expected integer node indices/labels, got dtype {array.dtype}")
    return array.astype(np.int64)


def read_edges(path: Path) -> np.ndarray:
    """``[2, E]`` int64 edge index from an ``[E, 2]`` (as released) or ``[2, E]`` edge list."""
    edges = _int_array(load_pt(path), path)
    if edges.ndim != 2 or 2 not in edges.shape:
        raise ValueError(f"{path}: expected an [E, 2] edge list, got shape {edges.shape}")
    return np.ascontiguousarray(edges if edges.shape[0] == 2 and edges.shape[1] != 2 else edges.T)


def read_labels(path: Path) -> np.ndarray:
    """``[N]`` int64 class ids; ``-1`` = unlabelled."""
    labels = _int_array(load_pt(path), path).reshape(-1)
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
            raise ValueError(f"{path}: no {' or '.join(keys)} entry (has: {sorted(content)})")
        indices = _int_array(content[key], path).reshape(-1)
        bad = np.flatnonzero((indices < 0) | (indices >= num_nodes))
        if bad.size:
            raise ValueError(
                f"{path}: {key} lists node {int(indices[bad[0]])}, outside the {num_nodes} nodes"
            )
        splits[split] = indices
    return splits


def read_node_mapping(path: Path, num_nodes: int) -> list[str]:
    """Raw product ids ordered by node index, from ``{raw id: node index}``."""
    mapping = load_pt(path)
    if not isinstance(mapping, dict):
        raise ValueError(f"{path}: expected a dict {{raw id: node index}}, got {type(mapping).__name__}")
    raw_ids: list[str | None] = [None] * num_nodes
    for raw_id, index in mapping.items():
        index = int(index)
        if not 0 <= index < num_nodes:
            raise ValueError(f"{path}: raw id {raw_id!r} maps to node {index}, outside the {num_nodes} nodes")
        if raw_ids[index] is not None:
            raise ValueError(f"{path}: raw ids {raw_ids[index]!r} and {raw_id!r} both map to node {index}")
        raw_ids[index] = str(raw_id)
    missing = [index for index, raw_id in enumerate(raw_ids) if raw_id is None]
    if missing:
        raise ValueError(f"{path}: {len(missing)} nodes have no raw id, e.g. node {missing[0]}")
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
    return [by_raw_id.get(raw_id) or None for raw_id in raw_ids]


def _extract_images(tar_path: Path, destination: Path) -> None:
    """Extract the image members of the released tar once (``filter="data"`` refuses unsafe paths)."""
    marker = destination / f".{tar_path.name}.extracted"
    if marker.exists():
        return
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(tar_path) as archive:
            members = [
                m for m in archive.getmembers() if m.isfile() and m.name.lower().endswith(IMAGE_SUFFIXES)
            ]
            archive.extractall(destination, members=members, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise ValueError(f"{tar_path}: cannot extract the image archive ({error})") from None
    marker.touch()


def locate_images(
    raw_dir: Path, raw_ids: list[str], image_dir: str | os.PathLike | None = None
) -> list[str | None]:
    """Per-node image path (``{raw id}.{ext}``, else ``{node index}.{ext}``), None where absent.

    Looks in ``image_dir`` if given, else in ``ele-fashion-images/`` under ``raw_dir`` or
    ``raw_dir/raw-data``; if only the tar exists it is extracted into ``image_dir`` (default:
    the tar's folder).
    """
    folder = Path(image_dir) if image_dir is not None else _locate(raw_dir, IMAGE_FOLDER)
    tar_path = _locate(raw_dir, IMAGE_TAR)
    if tar_path is not None and (folder is None or not folder.is_dir() or not any(folder.iterdir())):
        folder = folder or tar_path.parent
        _extract_images(tar_path, folder)
    if folder is None or not folder.is_dir():
        return [None] * len(raw_ids)
    by_stem: dict[str, str] = {}
    for root, _, files in os.walk(folder):
        for name in files:
            stem, suffix = os.path.splitext(name)
            if suffix.lower() in IMAGE_SUFFIXES:
                by_stem.setdefault(stem, os.path.join(root, name))
    return [by_stem.get(raw_id) or by_stem.get(str(index)) for index, raw_id in enumerate(raw_ids)]


def read_label_names(raw_dir: Path, label_names: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """The argument, else ``label_names.json`` in ``raw_dir``, else :data:`DEFAULT_LABEL_NAMES`."""
    if label_names is None:
        path = _locate(raw_dir, LABEL_NAMES_FILE)
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


def _checked_label_names(raw_dir: Path, label_names, labels: np.ndarray) -> tuple[str, ...]:
    names = read_label_names(raw_dir, label_names)
    if labels.max(initial=-1) >= len(names):
        raise ValueError(
            f"Ele-Fashion: labels go up to {int(labels.max())} but only {len(names)} label names are given"
        )
    return names


# ---------------------------------------------------------------------------------------- the release
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
        label_names: class names (see the module docstring for the default).
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise ValueError(f"Ele-Fashion raw directory {raw_dir} does not exist")
    labels = read_labels(_require(raw_dir, LABELS_FILE))
    num_nodes = labels.shape[0]
    names = _checked_label_names(raw_dir, label_names, labels)
    raw_ids = read_node_mapping(_require(raw_dir, NODE_MAPPING_FILE), num_nodes)
    texts = read_texts(_require(raw_dir, TEXT_FILE), raw_ids)
    has_image_source = image_dir is not None or any(_locate(raw_dir, n) for n in (IMAGE_FOLDER, IMAGE_TAR))
    if images is True and not has_image_source:
        raise ValueError(f"Ele-Fashion: images=True but no {IMAGE_FOLDER}/ or {IMAGE_TAR} in {raw_dir}")
    use_images = images is True or (images == "auto" and has_image_source)
    image_paths = locate_images(raw_dir, raw_ids, image_dir) if use_images else [None] * num_nodes
    num_missing = sum(path is None for path in image_paths) if use_images else 0
    if num_missing:
        logger.warning(
            "Ele-Fashion: %d of %d products have no image file; they are text-only nodes",
            num_missing,
            num_nodes,
        )
    for index, (text, image) in enumerate(zip(texts, image_paths)):
        if text is None and image is None:
            raise ValueError(
                f"Ele-Fashion: node {index} (raw id {raw_ids[index]!r}) has no text in {TEXT_FILE} and no image"
            )
    edges_path = _require(raw_dir, EDGES_FILE)
    try:
        graph = MultimodalGraph(
            texts,
            image_paths,
            read_edges(edges_path),
            node_ids=raw_ids,
            labels=labels.tolist(),
            name="ele-fashion",
        )
    except ValueError as error:
        raise ValueError(f"{edges_path}: {error}") from None
    splits = read_splits(_require(raw_dir, SPLIT_FILE), num_nodes)
    return EleFashionRelease(graph, labels, splits, names, num_missing)


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


def parse_seen_classes(seen_classes: Any, label_names: tuple[str, ...]) -> tuple[int, ...]:
    """Class ids from ids, names or a comma-separated string (``"0,1,2"`` / ``"dress,shoes"``)."""
    if seen_classes is None:
        return tuple(range(len(label_names)))
    if isinstance(seen_classes, str):
        seen_classes = [part.strip() for part in seen_classes.split(",") if part.strip()]
    ids = []
    for entry in seen_classes:
        if isinstance(entry, str) and not entry.lstrip("-").isdigit():
            if entry not in label_names:
                raise ValueError(f"seen class {entry!r} is not one of the label names {list(label_names)}")
            ids.append(label_names.index(entry))
        else:
            class_id = int(entry)
            if not 0 <= class_id < len(label_names):
                raise ValueError(f"seen class {class_id} is outside 0..{len(label_names) - 1}")
            ids.append(class_id)
    return tuple(sorted(set(ids)))


# ---------------------------------------------------------------------------------------- builder
def _fingerprint(raw_dir: Path) -> str:
    parts = []
    for name in (
        EDGES_FILE,
        LABELS_FILE,
        SPLIT_FILE,
        NODE_MAPPING_FILE,
        TEXT_FILE,
        LABEL_NAMES_FILE,
        IMAGE_TAR,
    ):
        path = _locate(raw_dir, name)
        if path is not None:
            stat = path.stat()
            parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


@dataclass
class EleFashionConfig(datasets.BuilderConfig):
    """``name="default"``: per-split target-node examples; ``name="graph"``: the graph, once.

    The other fields are :func:`load_ele_fashion`'s arguments; ``files_fingerprint`` (sizes
    and mtimes of the release files) makes an edited release prepare again.
    """

    raw_dir: str | None = None
    seen_classes: tuple[int, ...] | None = None
    label_names: tuple[str, ...] | None = None
    images: bool | str = "auto"
    image_dir: str | None = None
    files_fingerprint: str = ""


class EleFashion(datasets.GeneratorBasedBuilder):
    """Builder over an Ele-Fashion release; see the module docstring."""

    BUILDER_CONFIG_CLASS = EleFashionConfig
    BUILDER_CONFIGS = [EleFashionConfig(name="default"), EleFashionConfig(name="graph")]
    DEFAULT_CONFIG_NAME = "default"

    def _raw_dir(self) -> Path:
        if not self.config.raw_dir:
            raise ValueError("EleFashion builder needs raw_dir=<folder with the MM-Graph ele-fashion files>")
        return Path(self.config.raw_dir)

    def _info(self) -> datasets.DatasetInfo:
        if self.config.name == "graph":
            features = datasets.Features({"graph": graph_feature("int64")})
        else:
            names = read_label_names(self._raw_dir(), self.config.label_names)
            features = datasets.Features(
                {
                    "id": datasets.Value("string"),
                    "node_index": datasets.Value("int64"),
                    "node_id": datasets.Value("string"),
                    "target_node": datasets.Value("int64"),
                    "label": datasets.ClassLabel(names=list(names)),
                    "label_name": datasets.Value("string"),
                    "target_text": datasets.Value("string"),
                    "is_seen_class": datasets.Value("bool"),
                }
            )
        return datasets.DatasetInfo(
            description="Ele-Fashion (Multimodal Graph Benchmark): Amazon products, co-purchase edges, 11 classes.",
            features=features,
        )

    def _split_generators(self, dl_manager):
        if self.config.name == "graph":
            return [datasets.SplitGenerator(name="graph", gen_kwargs={"split": "graph"})]
        return [datasets.SplitGenerator(name=split, gen_kwargs={"split": split}) for split in SPLIT_KEYS]

    def _generate_examples(self, split: str):
        raw_dir, config = self._raw_dir(), self.config
        if split == "graph":
            release = read_ele_fashion(
                raw_dir, images=config.images, image_dir=config.image_dir, label_names=config.label_names
            )
            yield 0, {"graph": release.graph.to_dict()}
            return
        # Examples only name their target node: no texts or images are read here.
        labels = read_labels(_require(raw_dir, LABELS_FILE))
        names = _checked_label_names(raw_dir, config.label_names, labels)
        raw_ids = read_node_mapping(_require(raw_dir, NODE_MAPPING_FILE), labels.shape[0])
        seen = set(parse_seen_classes(config.seen_classes, names))
        for node in read_splits(_require(raw_dir, SPLIT_FILE), labels.shape[0])[split]:
            label = int(labels[node])
            # Unlabelled nodes have no answer to train on or score; unseen classes never reach training.
            if label < 0 or (split == "train" and label not in seen):
                continue
            name = names[label]
            yield (
                int(node),
                {
                    "id": f"ele-fashion-{int(node)}",
                    "node_index": int(node),
                    "node_id": raw_ids[node],
                    "target_node": int(node),
                    "label": label,
                    "label_name": name,
                    "target_text": name,
                    "is_seen_class": label in seen,
                },
            )


def _builder(
    raw_dir, config_name: str, seen_classes, label_names, images, image_dir, cache_dir
) -> EleFashion:
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise ValueError(f"Ele-Fashion raw directory {raw_dir} does not exist")
    names = read_label_names(raw_dir, label_names)
    return EleFashion(
        cache_dir=os.fspath(cache_dir) if cache_dir is not None else None,
        config_name=config_name,
        raw_dir=os.fspath(raw_dir.resolve()),
        seen_classes=parse_seen_classes(seen_classes, names) if seen_classes is not None else None,
        label_names=names,
        images=images,
        image_dir=os.fspath(image_dir) if image_dir is not None else None,
        files_fingerprint=_fingerprint(raw_dir),
    )


def load_ele_fashion(
    raw_dir: str | os.PathLike,
    *,
    seen_classes: Any = None,
    label_names: list[str] | tuple[str, ...] | None = None,
    images: bool | str = "auto",
    image_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    num_proc: int | None = None,
) -> datasets.DatasetDict:
    """Target-node examples per split (train / validation / test) of an Ele-Fashion release.

    Get the graph itself with :func:`ele_fashion_graph` (same ``raw_dir``) or
    :func:`load_ele_fashion_graph_dataset`. ``num_proc`` is passed to ``datasets``; each split
    is one shard (the examples are a few integers per node).
    """
    builder = _builder(raw_dir, "default", seen_classes, label_names, images, image_dir, cache_dir)
    builder.download_and_prepare(num_proc=num_proc if num_proc and num_proc > 1 else None)
    return builder.as_dataset()


def load_ele_fashion_graph_dataset(
    raw_dir: str | os.PathLike,
    *,
    label_names: list[str] | tuple[str, ...] | None = None,
    images: bool | str = "auto",
    image_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> datasets.Dataset:
    """The graph as a one-row ``Dataset`` (column ``graph``, ``MultimodalGraph.to_dict()`` layout)."""
    builder = _builder(raw_dir, "graph", None, label_names, images, image_dir, cache_dir)
    builder.download_and_prepare()
    return builder.as_dataset(split="graph")


# ---------------------------------------------------------------------------------------- sample writer
SAMPLE_LABEL_NAMES = (
    "headphones", "phone case", "smart watch", "camera", "charger",
    "t-shirt", "dress", "sneakers", "handbag", "sunglasses", "jacket",
)  # fmt: skip
_SAMPLE_DETAILS = (
    ("with soft ear cushions and deep bass", "that fold flat for travel"),
    ("with a slim shockproof shell", "that protects the screen from drops"),
    ("that tracks steps and heart rate", "with a bright touch display"),
    ("with a sharp zoom lens", "that records smooth video"),
    ("with fast charging over usb", "that powers two phones at once"),
    ("made of soft cotton with a round neck", "with short sleeves and a relaxed fit"),
    ("with a flowing skirt for summer evenings", "with thin straps and a fitted waist"),
    ("with a cushioned sole for running", "with breathable mesh and white laces"),
    ("made of leather with a long strap", "with a zip pocket and gold buckle"),
    ("with polarized lenses and a metal frame", "that block glare at the beach"),
    ("with a warm lining and a hood", "that keeps out wind and rain"),
)
_SAMPLE_COLOURS = ("black", "white", "red", "blue", "green", "grey", "pink", "brown")


def write_ele_fashion_sample(
    out_dir: str | os.PathLike,
    *,
    nodes_per_class: int = 8,
    unlabelled_fraction: float = 0.1,
    image_fraction: float = 0.75,
    images_as: str = "folder",
    text_keys: tuple[str, str] = ("asin", "raw_text"),
    seed: int = 0,
) -> Path:
    """Write a small synthetic release in the MM-Graph layout (``images_as`` ``"folder"``/``"tar"``/``"none"``).

    Texts come from per-class templates and edges mostly join products of the same class,
    so a tiny model can learn the classes. Returns ``out_dir``.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    (out_dir / "raw-data").mkdir(parents=True, exist_ok=True)
    classes = np.repeat(np.arange(NUM_CLASSES), nodes_per_class)
    rng.shuffle(classes)
    num_nodes = classes.shape[0]
    letters = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"))
    raw_ids = [f"B0{''.join(rng.choice(letters, 8))}" for _ in range(num_nodes)]
    labels = np.where(rng.random(num_nodes) < unlabelled_fraction, -1, classes)
    edges = set()
    for node, cls in enumerate(classes):
        same = np.flatnonzero((classes == cls) & (np.arange(num_nodes) != node))
        for other in rng.choice(same, size=min(2, same.size), replace=False):
            edges.add((min(node, int(other)), max(node, int(other))))
        if rng.random() < 0.3:  # a few cross-class co-purchases
            other = int(rng.integers(num_nodes))
            if other != node:
                edges.add((min(node, other), max(node, other)))
    order = rng.permutation(num_nodes)
    cut_train, cut_val = int(0.6 * num_nodes), int(0.8 * num_nodes)
    torch.save(torch.tensor(sorted(edges), dtype=torch.int64), out_dir / EDGES_FILE)
    torch.save(torch.tensor(labels, dtype=torch.int64), out_dir / LABELS_FILE)
    split = {"train_idx": order[:cut_train], "val_idx": order[cut_train:cut_val], "test_idx": order[cut_val:]}
    torch.save({key: torch.tensor(np.sort(value)) for key, value in split.items()}, out_dir / SPLIT_FILE)
    torch.save({raw_id: index for index, raw_id in enumerate(raw_ids)}, out_dir / NODE_MAPPING_FILE)
    (out_dir / LABEL_NAMES_FILE).write_text(
        json.dumps(list(SAMPLE_LABEL_NAMES), indent=1) + "\n", encoding="utf-8"
    )
    id_key, text_key = text_keys
    with open(out_dir / "raw-data" / TEXT_FILE, "w", encoding="utf-8") as handle:
        for raw_id, cls in zip(raw_ids, classes):
            colour = _SAMPLE_COLOURS[int(rng.integers(len(_SAMPLE_COLOURS)))]
            detail = _SAMPLE_DETAILS[cls][int(rng.integers(2))]
            text = f"A {colour} {SAMPLE_LABEL_NAMES[cls]} {detail}."
            handle.write(json.dumps({id_key: raw_id, text_key: text}) + "\n")
    if images_as != "none":
        image_root = out_dir / "raw-data" / IMAGE_FOLDER
        image_root.mkdir(exist_ok=True)
        for raw_id, cls in zip(raw_ids, classes):
            if rng.random() >= image_fraction:
                continue
            # A class-specific hue plus noise: different enough per class to be learnable.
            hue = np.array(
                [(cls * 97) % 256, (cls * 53 + 80) % 256, (cls * 29 + 160) % 256], dtype=np.float32
            )
            pixels = np.clip(hue + rng.normal(0, 25, size=(16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(image_root / f"{raw_id}.jpg", quality=70)
        if images_as == "tar":
            with tarfile.open(out_dir / "raw-data" / IMAGE_TAR, "w") as archive:
                archive.add(image_root, arcname=IMAGE_FOLDER)
            for path in image_root.iterdir():
                path.unlink()
            image_root.rmdir()
    return out_dir


def write_ele_fashion_sample_data(out_dir: str | os.PathLike) -> Path:
    """The bundled sample (``hf_graph4mm/sample_data/ele_fashion``): 88 products, images in a folder."""
    return write_ele_fashion_sample(out_dir)
