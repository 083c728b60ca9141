"""Ele-Fashion (Multimodal Graph Benchmark) from its release files, for zero-shot node classification.

Modules: :mod:`.files` (one reader per release file, each checking its layout),
:mod:`.images`, :mod:`.release` (the files cross-checked, the graph); this one holds the
``datasets`` builder. A synthetic release: :mod:`hf_graph4mm.testing.samples.ele_fashion`.

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

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from ..features import graph_feature
from .files import (
    EDGES_FILE,
    IMAGE_TAR,
    LABEL_NAMES_FILE,
    LABELS_FILE,
    NODE_MAPPING_FILE,
    SPLIT_FILE,
    SPLIT_KEYS,
    TEXT_FILE,
    checked_label_names,
    locate,
    read_label_names,
    read_labels,
    read_node_mapping,
    read_splits,
    require,
)
from .release import (
    ReleaseFiles,
    check_every_node_has_content,
    read_ele_fashion,
    read_release_files,
    uses_images,
)


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
        path = locate(raw_dir, name)
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
            # load_ele_fashion_graph_dataset already read (and so checked) the release up front.
            release = getattr(self, "checked_release", None) or read_ele_fashion(
                raw_dir, images=config.images, image_dir=config.image_dir, label_names=config.label_names
            )
            yield 0, {"graph": release.graph.to_dict()}
            return
        # Examples only name their target node: no texts or images are read here.
        labels = read_labels(require(raw_dir, LABELS_FILE))
        names = checked_label_names(raw_dir, config.label_names, labels)
        raw_ids = read_node_mapping(require(raw_dir, NODE_MAPPING_FILE), labels.shape[0])
        seen = set(parse_seen_classes(config.seen_classes, names))
        for node in read_splits(require(raw_dir, SPLIT_FILE), labels.shape[0])[split]:
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


def check_ele_fashion_release(
    raw_dir: str | os.PathLike,
    *,
    label_names: list[str] | tuple[str, ...] | None = None,
    images: bool | str = "auto",
    image_dir: str | os.PathLike | None = None,
) -> ReleaseFiles:
    """Check every release file's layout and their agreement, without reading any image.

    Raises ``ValueError`` naming the file and what was expected (types, key/value direction
    of ``node_mapping.pt``, index ranges, split and label shapes, products missing from the
    text file). Nodes without text are accepted only when images are used (the ``graph``
    config then checks that each of them has an image file).
    """
    files = read_release_files(raw_dir, label_names)
    if not uses_images(Path(raw_dir), images, image_dir):
        check_every_node_has_content(files, image_paths=None)
    return files


def _builder(
    raw_dir, config_name: str, seen_classes, label_names, images, image_dir, cache_dir
) -> EleFashion:
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise ValueError(f"Ele-Fashion raw directory {raw_dir} does not exist")
    names = read_label_names(raw_dir, label_names)
    builder = EleFashion(
        cache_dir=os.fspath(cache_dir) if cache_dir is not None else None,
        config_name=config_name,
        raw_dir=os.fspath(raw_dir.resolve()),
        seen_classes=parse_seen_classes(seen_classes, names) if seen_classes is not None else None,
        label_names=names,
        images=images,
        image_dir=os.fspath(image_dir) if image_dir is not None else None,
        files_fingerprint=_fingerprint(raw_dir),
    )
    # Check the release before datasets generates anything: an error raised inside generation
    # reaches the caller as datasets' generic DatasetGenerationError with the cause buried.
    if not os.path.exists(os.path.join(builder.cache_dir, datasets.config.DATASET_INFO_FILENAME)):
        if config_name == "graph":
            builder.checked_release = read_ele_fashion(
                raw_dir, images=images, image_dir=image_dir, label_names=names
            )
        else:
            check_ele_fashion_release(raw_dir, label_names=names, images=images, image_dir=image_dir)
    return builder


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
