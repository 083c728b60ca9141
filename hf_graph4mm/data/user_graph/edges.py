"""The edges table: one row per edge, ``source`` and ``target`` node ids, an optional ``type``.

Ids are those of the nodes table (the same kind: integers, or strings when declared); each is
translated once to a node index through :class:`~.ids.NodeIds`. An unknown, missing, float or
bool id is refused, naming the file and row. ``type`` (a relation name, e.g. ``"bought_with"``)
is kept per edge in the graph's ``edge_relations``; the model itself does not read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ids import NodeIds
from .tables import Table


@dataclass(frozen=True)
class EdgeColumns:
    source: str = "source"
    target: str = "target"
    type: str = "type"


DEFAULT_EDGE_COLUMNS = EdgeColumns()


def read_edges(
    table: Table, ids: NodeIds, columns: EdgeColumns = DEFAULT_EDGE_COLUMNS
) -> tuple[np.ndarray, list | None]:
    """``([2, E] int64 node indices, relation per edge or None)`` from the edges ``table``."""
    sources = table.column(columns.source, "the id of each edge's source node")
    targets = table.column(columns.target, "the id of each edge's target node")
    edge_index = np.zeros((2, len(sources)), dtype=np.int64)
    for row, (source, target) in enumerate(zip(sources, targets)):
        for end, (role, value) in enumerate((("source", source), ("target", target))):
            if value is None:
                raise ValueError(f"{table.where(row)}: the {role} id is missing")
            edge_index[end, row] = ids.lookup(value, table.where(row), role)
    relations = None
    if table.has(columns.type):
        relations = []
        for row, value in enumerate(table.columns[columns.type]):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{table.where(row)}: the edge type must be a string, got {value!r}")
            relations.append(value or "")
    return edge_index, relations
