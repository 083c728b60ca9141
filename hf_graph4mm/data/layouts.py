"""Every dataset layout the CLI reads, resolved in one place: ``train``, ``evaluate`` and ``predict`` call
:func:`open_dataset`, so what one accepts the others accept.

``name`` is one of:

- a named source: ``sample`` (the bundled WikiWeb2M sample for Graph4MM, the bundled MOSI-layout sample
  for GsiT), ``wikiweb2m-sample``, ``ele-fashion-sample``, ``mmsa-sample``, or a raw release read from
  ``raw_dir``: ``wikiweb2m`` (TFRecord shards), ``ele_fashion`` (the MM-Graph files), ``mmsa`` (a pickle);
- a local file: ``.parquet``, ``.arrow``, ``.jsonl`` / ``.json``, ``.csv`` (one split, ``train``, unless a
  ``split`` column names each row's), or an MMSA ``.pkl``;
- a local folder: what ``save_to_disk`` writes (a ``Dataset`` or a ``DatasetDict``); what the release
  scripts and ``save_sentiment_dataset`` write (``data/{split}[-*].parquet`` or ``.arrow``, or those files
  at the top; a README card is not needed); Ele-Fashion's shared graph (``graph/graph.parquet``, one row
  with the whole graph, read once and returned as ``shared_graph``); your own sentiment features as a
  folder of ``.npy`` files with a labels table (:mod:`hf_graph4mm.data.sentiment`);
- a Hub dataset id (``org/name``), loaded with ``datasets.load_dataset`` once
  :func:`~.references.resolve_reference` found the Hub usable.

Local paths are checked first, and a name that reads as a path but is missing is an error, never a Hub id.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .references import require_local, resolve_reference

DATA_FILE_BUILDERS = {
    ".parquet": "parquet",
    ".arrow": "arrow",
    ".jsonl": "json",
    ".json": "json",
    ".csv": "csv",
}
SPLIT_ALIASES = {"valid": "validation", "val": "validation", "dev": "validation"}
GRAPH_NAMES = ("sample", "wikiweb2m-sample", "ele-fashion-sample", "wikiweb2m", "ele_fashion")
SENTIMENT_NAMES = ("sample", "mmsa-sample", "mmsa")
FAMILIES = ("graph4mm", "gsit")


@dataclass
class DataSource:
    """What :func:`open_dataset` found: the splits, the graph rows share (or None) and the layout's name."""

    splits: Any  # datasets.DatasetDict
    shared_graph: Any = None  # MultimodalGraph
    layout: str = ""
    name: str = ""

    def split(self, name: str):
        """One split; a source with a single split gives it for any name (a file holds what it holds)."""
        if name in self.splits:
            return self.splits[name]
        if len(self.splits) == 1:
            return next(iter(self.splits.values()))
        raise ValueError(
            f"dataset {self.name!r} ({self.layout}) has splits {sorted(self.splits)}, not {name!r}"
        )


def _split_name(file: Path) -> str:
    stem = file.name.split(".")[0].split("-")[0]
    return SPLIT_ALIASES.get(stem, stem)


def _split_by_column(splits):
    """A one-split ``DatasetDict`` whose rows carry a ``split`` column -> one split per value."""
    import datasets

    if len(splits) != 1:
        return splits
    only = next(iter(splits.values()))
    if "split" not in only.column_names:
        return splits
    names = only["split"]
    out = {}
    for value in dict.fromkeys(names):
        indices = [i for i, name in enumerate(names) if name == value]
        out[SPLIT_ALIASES.get(str(value), str(value))] = only.select(indices)
    return datasets.DatasetDict(out)


def _data_files(folder: Path) -> dict[str, list[str]]:
    """``{split: files}`` of a release folder: ``data/`` first, else the folder's own files."""
    for where in (folder / "data", folder):
        found: dict[str, list[str]] = {}
        if not where.is_dir():
            continue
        for file in sorted(where.iterdir()):
            if file.is_file() and file.suffix in DATA_FILE_BUILDERS:
                found.setdefault(_split_name(file), []).append(str(file))
        if found:
            suffixes = {Path(f).suffix for files in found.values() for f in files}
            if len({DATA_FILE_BUILDERS[s] for s in suffixes}) > 1:
                raise ValueError(f"{where} mixes file kinds {sorted(suffixes)}; keep one kind per dataset")
            return found
    return {}


def read_shared_graph(path: str | os.PathLike):
    """The one-row graph file a shared-graph release writes (``graph/graph.parquet``) as a ``MultimodalGraph``."""
    import datasets

    return _graph_of_table(datasets.load_dataset("parquet", data_files=str(path), split="train"), path)


def _graph_of_table(table, path):
    from ..processing import MultimodalGraph

    if len(table) != 1 or "graph" not in table.column_names:
        raise ValueError(
            f"{path}: expected one row with a 'graph' column, got {len(table)} rows {table.column_names}"
        )
    return MultimodalGraph.from_dict(table[0]["graph"])


def _local(path: Path, family: str | None) -> DataSource:
    import datasets

    if path.is_file():
        if path.suffix == ".pkl":
            from .mmsa import load_mmsa

            return DataSource(load_mmsa(path), layout="MMSA pickle", name=str(path))
        builder = DATA_FILE_BUILDERS.get(path.suffix)
        if builder is None:
            raise ValueError(
                f"cannot read {path}: expected one of {sorted(DATA_FILE_BUILDERS)} or an MMSA .pkl"
            )
        splits = datasets.load_dataset(builder, data_files={"train": str(path)})
        return DataSource(_split_by_column(splits), layout=f"{builder} file", name=str(path))
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.Dataset):
            loaded = datasets.DatasetDict({"train": loaded})
        shared_graph = None
        if (path / "graph" / "state.json").is_file() and family != "gsit":  # a shared graph saved beside
            shared_graph = _graph_of_table(datasets.load_from_disk(str(path / "graph")), path / "graph")
        layout = "save_to_disk folder" + (" with a shared graph" if shared_graph is not None else "")
        return DataSource(_split_by_column(loaded), shared_graph=shared_graph, layout=layout, name=str(path))
    from .sentiment import is_npy_layout, load_sentiment_features

    if is_npy_layout(path):
        return DataSource(load_sentiment_features(path), layout="sentiment .npy folder", name=str(path))
    files = _data_files(path)
    if not files:
        raise ValueError(
            f"{path} holds no dataset: expected a save_to_disk folder, data/{{split}}.parquet (or .arrow, .jsonl, "
            ".csv) files as the release scripts write, or a sentiment .npy folder with labels.csv"
        )
    builder = DATA_FILE_BUILDERS[Path(next(iter(files.values()))[0]).suffix]
    splits = _split_by_column(datasets.load_dataset(builder, data_files=files))
    graph_file = path / "graph" / "graph.parquet"
    shared_graph = read_shared_graph(graph_file) if graph_file.is_file() and family != "gsit" else None
    layout = "release folder" + (" with a shared graph" if shared_graph is not None else "")
    return DataSource(splits, shared_graph=shared_graph, layout=layout, name=str(path))


def _named(name: str, family: str, raw_dir: str | None, images_dir: str | None, seen_classes) -> DataSource:
    from ..testing.samples import SAMPLE_DATA

    if family == "gsit":
        from .mmsa import load_mmsa

        if name in ("sample", "mmsa-sample"):
            from ..testing.samples.mmsa import SAMPLE_PICKLE

            return DataSource(load_mmsa(SAMPLE_PICKLE), layout="bundled MMSA sample", name=name)
        if not raw_dir:
            raise ValueError(
                "dataset=mmsa needs --raw_dir pointing at the MMSA pickle (e.g. unaligned_50.pkl)"
            )
        require_local(raw_dir, what="--raw_dir")
        return DataSource(load_mmsa(raw_dir), layout="MMSA pickle", name=raw_dir)
    from . import load_ele_fashion, load_wikiweb2m

    if name in ("sample", "wikiweb2m-sample"):
        return DataSource(
            load_wikiweb2m(SAMPLE_DATA / "wikiweb2m"), layout="bundled WikiWeb2M sample", name=name
        )
    if name == "wikiweb2m":
        if not raw_dir:
            raise ValueError(
                "dataset=wikiweb2m needs --raw_dir with the release's wikiweb2m-*.tfrecord* shards"
            )
        require_local(raw_dir, what="--raw_dir")
        dataset = load_wikiweb2m(raw_dir, images_dir=images_dir or "auto")
        return DataSource(dataset, layout="WikiWeb2M release", name=raw_dir)
    from .ele_fashion import ele_fashion_graph

    folder = SAMPLE_DATA / "ele_fashion" if name == "ele-fashion-sample" else raw_dir
    if not folder:
        raise ValueError("dataset=ele_fashion needs --raw_dir with the MM-Graph release files")
    require_local(str(folder), what="--raw_dir")
    if isinstance(seen_classes, str):
        seen_classes = [int(c) for c in seen_classes.split(",")] if seen_classes else None
    dataset = load_ele_fashion(folder, seen_classes=seen_classes)
    return DataSource(
        dataset, shared_graph=ele_fashion_graph(folder), layout="Ele-Fashion release", name=str(folder)
    )


def open_dataset(
    name: str,
    *,
    family: str | None = None,
    raw_dir: str | None = None,
    images_dir: str | None = None,
    seen_classes=None,
) -> DataSource:
    """The dataset ``name`` names (see the module docstring), its splits and its shared graph.

    Args:
        family: "graph4mm" or "gsit": which named sources apply (``sample`` differs); None for a path or id.
        raw_dir, images_dir, seen_classes: for the raw releases (``wikiweb2m``, ``ele_fashion``, ``mmsa``).

    Raises:
        FileNotFoundError: a path that does not exist (never looked up on the Hub).
        HubUnavailableError: a Hub id while offline or without a network.
        ValueError: a folder or file that holds no dataset layout we read, a named source without its
            ``raw_dir``, or a named source of the other model family.
    """
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    named = GRAPH_NAMES if family == "graph4mm" else SENTIMENT_NAMES if family == "gsit" else ()
    if name in named and not Path(name).exists():
        return _named(name, family, raw_dir, images_dir, seen_classes)
    other = SENTIMENT_NAMES if family == "graph4mm" else GRAPH_NAMES if family == "gsit" else ()
    if name in other and not Path(name).exists():
        raise ValueError(
            f"dataset {name!r} is a {'GsiT' if family == 'graph4mm' else 'Graph4MM'} source; {family} reads {named} or a path"
        )
    if resolve_reference(name, what="--dataset", repo_type="dataset") == "local":
        return _local(Path(name).expanduser(), family)
    import datasets

    loaded = datasets.load_dataset(name)
    if isinstance(loaded, datasets.Dataset):
        loaded = datasets.DatasetDict({"train": loaded})
    return DataSource(_split_by_column(loaded), layout="Hub dataset", name=name)
