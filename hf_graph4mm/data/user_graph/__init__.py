"""Your own multimodal graph, from the tables you keep it in, as a Graph4MM dataset.

Inputs (parquet, CSV or JSON Lines files, or in-memory rows; see :mod:`.tables`):

- nodes table (:mod:`.nodes`): ``id``, ``text``, ``image`` (path in ``images_dir`` or bytes),
  optional ``label``, ``target_text``, ``split``;
- edges table (:mod:`.edges`): ``source``, ``target`` (node ids), optional ``type``.

Ids (:mod:`.ids`) are integers, or strings declared with ``string_ids=True``, mapped once to
node indices. Labels become texts through verbalisers (:mod:`.labels`); nodes with a target text
or a label are the examples, split by a ``split`` column or at random with a seed
(:mod:`.examples`). The output is the layout our release scripts write (:mod:`.layout`): rows
with ``target_node`` / ``target_text`` and a shared ``graph/graph.parquet`` (default) or a
per-row ``graph`` column; everything downstream (``hf-graph4mm train`` / ``evaluate`` /
``predict``, ``Graph4MMCollator``, ``Trainer``) reads it. A PyTorch Geometric graph goes through
``MultimodalGraph.from_pyg`` and :func:`write_graph_dataset`. Command line: ``hf-graph4mm
build-graph`` (:mod:`hf_graph4mm.cli_build_graph`). Guide: docs/OWN_DATA_GRAPHS.md.
"""

from .build import TableGraph, build_graph_dataset, graph_from_tables, write_graph_dataset
from .edges import EdgeColumns, read_edges
from .examples import DEFAULT_FRACTIONS, random_splits, select_examples
from .ids import NodeIds, read_node_ids
from .labels import LABELS_FILE, Verbalizer
from .layout import LAYOUTS, GraphDataset, load_graph_dataset, write_graph_dataset_files
from .nodes import SPLITS, NodeColumns, Nodes, read_nodes, stored_image
from .tables import Table, read_table

__all__ = [
    "DEFAULT_FRACTIONS",
    "LABELS_FILE",
    "LAYOUTS",
    "SPLITS",
    "EdgeColumns",
    "GraphDataset",
    "NodeColumns",
    "NodeIds",
    "Nodes",
    "Table",
    "TableGraph",
    "Verbalizer",
    "build_graph_dataset",
    "graph_from_tables",
    "load_graph_dataset",
    "random_splits",
    "read_edges",
    "read_node_ids",
    "read_nodes",
    "read_table",
    "select_examples",
    "stored_image",
    "write_graph_dataset",
    "write_graph_dataset_files",
]
