"""Node ids of a user's nodes table, checked and mapped once to node indices.

Ids are integers (any values, not necessarily ``0..N-1``) or, when declared with
``string_ids=True``, strings. Node ``i`` of the graph is row ``i`` of the nodes table; the
mapping id -> index is built once here and every edge is translated through it. Floats and
bools are refused, never cast (``1.0`` is not node ``1``; ``True`` is not node ``1`` either),
and so are missing and duplicate ids; each error names the file and row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tables import Table


def _kind(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "integer"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


@dataclass(frozen=True)
class NodeIds:
    """The nodes table's ids in row order and their index (``index[id] == row``)."""

    ids: list
    index: dict

    @property
    def are_strings(self) -> bool:
        return bool(self.ids) and isinstance(self.ids[0], str)

    def lookup(self, value, where: str, role: str) -> int:
        """The node index of ``value`` (an edge's ``role`` end, at ``where``); unknown ids are named."""
        kind = _kind(value)
        expected = "string" if self.are_strings else "integer"
        if kind != expected:
            raise ValueError(
                f"{where}: {role} {value!r} is a {kind}, but node ids are {expected}s "
                "(floats and bools are never cast to ids)"
            )
        if value not in self.index:
            raise ValueError(f"{where}: {role} {value!r} is not the id of any node in the nodes table")
        return self.index[value]


def read_node_ids(table: Table, column: str = "id", string_ids: bool = False) -> NodeIds:
    """Check the ``column`` of the nodes ``table`` and map each id to its row."""
    values = table.column(column, "one unique id per node")
    index: dict = {}
    for row, value in enumerate(values):
        kind = _kind(value)
        if value is None:
            raise ValueError(f"{table.where(row)}: the node id is missing")
        if kind == "string" and not string_ids:
            raise ValueError(
                f"{table.where(row)}: node id {value!r} is a string; declare string ids "
                "(string_ids=True, or --string-ids on the command line) to map them to integers once"
            )
        if kind not in ("integer", "string"):
            raise ValueError(
                f"{table.where(row)}: node id {value!r} is a {kind}; node ids must be integers "
                "(or strings, declared with string_ids=True); floats and bools are never cast"
            )
        if index and _kind(values[0]) != kind:
            raise ValueError(
                f"{table.where(row)}: node id {value!r} is a {kind} but row 0's is a {_kind(values[0])}; "
                "use one kind of id"
            )
        key = int(value) if kind == "integer" else value
        if key in index:
            raise ValueError(f"{table.where(row)}: node id {value!r} repeats row {index[key]}'s")
        index[key] = row
    return NodeIds(ids=list(index), index=index)
