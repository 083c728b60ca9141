"""Writing (and reading back) a graph dataset in the layouts our release scripts write.

``layout="shared"`` (default; the Ele-Fashion layout, ``dataset_scripts/ele_fashion.py``)::

    OUT/README.md                  card: configs "default" (the rows) and "graph"
    OUT/data/{split}.parquet       example rows (see .examples), target_node indexes the graph
    OUT/graph/graph.parquet        one row, column "graph": the whole graph (MultimodalGraph.to_dict())
    OUT/labels.json                label names and verbalisers (labelled data only)

``layout="per_row"`` (the WikiWeb2M layout, ``dataset_scripts/wikiweb2m.py``): each row carries
its own ``graph``, the ``hops``-hop neighbourhood of its node, with ``target_node`` indexing it
(node order is kept, so a processor with ``num_hops <= hops`` sees exactly what it would see in
the whole graph)::

    OUT/README.md
    OUT/data/{split}-00000-of-00001.parquet
    OUT/labels.json

``format="arrow"`` writes ``DatasetDict.save_to_disk(OUT)`` instead of parquet (the shared graph,
if any, as ``save_to_disk(OUT/graph)``). ``datasets.load_dataset(OUT)`` reads the parquet
layouts, ``load_dataset(OUT, "graph")`` the shared graph; :func:`load_graph_dataset` reads
either layout and format back as ``(DatasetDict, shared graph or None)``.

The ``graph`` column's type is :func:`hf_graph4mm.data.features.graph_feature`, with images as
``datasets.Image(decode=False)`` cells (``{"bytes", "path"}``; the processor decodes them) when
they are embedded, node ids as strings, and ``node_types`` / ``edge_relations`` when the graph
has them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import datasets

from ...processing import MultimodalGraph
from ...processing.subgraph import hop_distances
from ..features import graph_feature
from .examples import Example
from .labels import Verbalizer

LAYOUTS = ("shared", "per_row")
FORMATS = ("parquet", "arrow")
# A shared graph is one parquet row: Arrow keeps a row's list of images in one binary array (32-bit
# offsets, 2 GiB at most). Above this, the images stay files (embed_images=False) instead.
MAX_SHARED_IMAGE_BYTES = 1 << 30


@dataclass
class GraphDataset:
    """What :func:`write_graph_dataset` wrote: the rows per split, the shared graph (``None`` in the
    per-row layout), the label verbaliser (``None`` without labels) and the folder."""

    examples: datasets.DatasetDict
    graph: MultimodalGraph | None
    verbalizer: Verbalizer | None
    output_dir: Path


def _graph_features(graph: MultimodalGraph, embedded_images: bool) -> dict:
    features = graph_feature("string")
    if embedded_images:
        features["images"] = datasets.List(datasets.Image(decode=False))
    if graph.node_types is not None:
        features["node_types"] = datasets.List(datasets.Value("string"))
    if graph.edge_relations is not None:
        features["edge_relations"] = datasets.List(datasets.Value("string"))
    return features


def _stored_graph(graph: MultimodalGraph) -> dict:
    """``to_dict()`` with ids and labels as text (the ``graph_feature`` types)."""
    data = graph.to_dict()
    if data["node_ids"] is not None:
        data["node_ids"] = [str(node_id) for node_id in data["node_ids"]]
    if data["labels"] is not None:
        data["labels"] = [None if label is None else str(label) for label in data["labels"]]
    return data


def _row_features(
    verbalizer: Verbalizer | None, graph_features: dict | None, prompt: bool
) -> datasets.Features:
    features = {
        "id": datasets.Value("string"),
        "node_index": datasets.Value("int64"),
        "node_id": datasets.Value("string"),
        "target_node": datasets.Value("int64"),
        "target_text": datasets.Value("string"),
    }
    if verbalizer is not None:
        features["label"] = datasets.ClassLabel(names=list(verbalizer.label_names))
        features["label_name"] = datasets.Value("string")
    if prompt:
        features["prompt"] = datasets.Value("string")
    if graph_features is not None:
        features["graph"] = graph_features
    return datasets.Features(features)


def _neighbourhood(graph: MultimodalGraph, node: int, hops: int, name: str) -> tuple[MultimodalGraph, int]:
    """The ``hops``-hop neighbourhood of ``node`` and the node's index in it."""
    nodes, _ = hop_distances(graph, node, hops)
    sub = graph.subgraph(nodes, name=name)
    return sub, int(sorted(int(n) for n in nodes).index(node))


def _rows(
    examples: list[Example],
    graph: MultimodalGraph,
    layout: str,
    hops: int,
    verbalizer: Verbalizer | None,
    prompt: str | None,
) -> list[dict]:
    rows = []
    for example in examples:
        row = {
            "id": f"{graph.name}-{example.node_id}",
            "node_index": example.node_index,
            "node_id": example.node_id,
            "target_node": example.node_index,
            "target_text": example.target_text,
        }
        if verbalizer is not None:
            row["label"] = (
                verbalizer.label_names.index(example.label_name) if example.label_name is not None else -1
            )
            row["label_name"] = example.label_name
        if prompt is not None:
            row["prompt"] = prompt
        if layout == "per_row":
            sub, target = _neighbourhood(graph, example.node_index, hops, row["id"])
            row["graph"], row["target_node"] = _stored_graph(sub), target
        rows.append(row)
    return rows


def _card_template(layout: str, splits: list[str], name: str) -> str:
    if layout == "shared":
        files = [f"  - split: {split}\n    path: data/{split}.parquet\n" for split in splits]
        configs = (
            "configs:\n- config_name: default\n  default: true\n  data_files:\n" + "".join(files)
            + "- config_name: graph\n  data_files:\n  - split: graph\n    path: graph/graph.parquet\n"
        )  # fmt: skip
        loading = (
            'examples = load_dataset("{{repo_id}}")\n'
            'graph = MultimodalGraph.from_dict(load_dataset("{{repo_id}}", "graph")["graph"][0]["graph"])\n'
        )
    else:
        files = [f"  - split: {split}\n    path: data/{split}-00000-of-00001.parquet\n" for split in splits]
        configs = "configs:\n- config_name: default\n  default: true\n  data_files:\n" + "".join(files)
        loading = (
            'examples = load_dataset("{{repo_id}}")\n'
            'graph = MultimodalGraph.from_dict(examples["train"][0]["graph"])  # each row\'s own graph\n'
        )
    return (
        "---\ntags:\n- multimodal-graph\n- graph4mm\n" + configs + "---\n\n"
        f"# {name}: a multimodal graph for Graph4MM\n\n"
        "Built with `hf-graph4mm build-graph` from a nodes table and an edges table "
        f"(layout `{layout}`; see hf-graph4mm's docs/OWN_DATA_GRAPHS.md for the row schema).\n\n"
        "```python\nfrom datasets import load_dataset\nfrom hf_graph4mm import MultimodalGraph\n\n"
        + loading
        + "```\n\n## Statistics\n\n{{statistics}}\n"
    )


def write_graph_dataset_files(
    graph: MultimodalGraph,
    examples: Mapping[str, list[Example]],
    output_dir: str | os.PathLike,
    *,
    verbalizer: Verbalizer | None = None,
    layout: str = "shared",
    format: str = "parquet",
    hops: int = 2,
    embedded_images: bool = True,
    prompt: str | None = None,
) -> GraphDataset:
    """Write ``examples`` over ``graph`` into ``output_dir`` (see the module docstring); ``prompt``: an
    instruction stored in every row (``prompt`` column; the collator and the pipelines use a row's own)."""
    from ...hub.dataset_folder import write_dataset_card

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if hops < 0:
        raise ValueError(f"hops must be >= 0, got {hops}")
    if layout == "shared" and embedded_images:
        total = sum(len(image["bytes"] or b"") for image in graph.images if isinstance(image, dict))
        if total > MAX_SHARED_IMAGE_BYTES:
            raise ValueError(
                f"the shared graph would embed {total / 2**30:.1f} GiB of images in one parquet row (at most "
                f"{MAX_SHARED_IMAGE_BYTES / 2**30:.0f} GiB): keep them as files with embed_images=False "
                "(--no-embed-images; absolute paths, as dataset_scripts/ele_fashion.py stores them)"
            )
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    graph_features = _graph_features(graph, embedded_images)
    row_features = _row_features(
        verbalizer, graph_features if layout == "per_row" else None, prompt is not None
    )
    splits = datasets.DatasetDict(
        {
            split: datasets.Dataset.from_list(
                _rows(rows, graph, layout, hops, verbalizer, prompt), features=row_features
            )
            for split, rows in examples.items()
        }
    )
    shared = None
    if layout == "shared":
        shared = datasets.Dataset.from_list(
            [{"graph": _stored_graph(graph)}], features=datasets.Features({"graph": graph_features})
        )
    if format == "arrow":
        splits.save_to_disk(output_dir)
        if shared is not None:
            shared.save_to_disk(output_dir / "graph")
    else:
        (output_dir / "data").mkdir(exist_ok=True)
        for split, dataset in splits.items():
            stem = split if layout == "shared" else f"{split}-00000-of-00001"
            dataset.to_parquet(output_dir / "data" / f"{stem}.parquet")
        configs = {"default": dict(splits)}
        if shared is not None:
            (output_dir / "graph").mkdir(exist_ok=True)
            shared.to_parquet(output_dir / "graph" / "graph.parquet")
            configs["graph"] = {"graph": shared}
        statistics = [
            f"- nodes: {graph.num_nodes} ({int(graph.has_text.sum())} with text, "
            f"{int(graph.has_image.sum())} with an image), edges: {graph.num_edges}",
            *(f"- {split}: {len(dataset)} examples" for split, dataset in splits.items()),
        ]
        if verbalizer is not None:
            statistics.append("- labels: " + ", ".join(verbalizer.label_names))
        with tempfile.TemporaryDirectory() as scratch:
            template = Path(scratch) / "card.md"
            template.write_text(_card_template(layout, list(splits), graph.name), encoding="utf-8")
            write_dataset_card(
                output_dir,
                template,
                configs,
                {"statistics": "\n".join(statistics), "repo_id": str(output_dir)},
            )
    if verbalizer is not None:
        verbalizer.save(output_dir)
    return GraphDataset(
        examples=splits,
        graph=MultimodalGraph.from_dict(shared[0]["graph"]) if shared is not None else None,
        verbalizer=verbalizer,
        output_dir=output_dir,
    )


def load_graph_dataset(path: str | os.PathLike) -> tuple[datasets.DatasetDict, MultimodalGraph | None]:
    """``(rows per split, shared graph or None)`` of a folder written by :func:`write_graph_dataset_files`
    (either layout, either format) or by our dataset scripts: what ``hf-graph4mm train`` reads, through the
    same loader (:func:`hf_graph4mm.data.layouts.open_dataset`)."""
    from ..layouts import open_dataset

    source = open_dataset(os.fspath(path), family="graph4mm")
    return source.splits, source.shared_graph
