"""Reading a user's table (nodes or edges) from parquet, CSV or JSON Lines into columns.

A table is a file (``.parquet``, ``.csv``, ``.jsonl`` / ``.json`` with one JSON object per line),
or, from Python, a ``pandas.DataFrame``, a ``datasets.Dataset``, a list of row dicts or a dict of
columns. :class:`Table` keeps the columns as Python lists and names the file and row in errors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".json": "json"}


@dataclass
class Table:
    """Columns of one table, each a list with one entry per row.

    Attributes:
        source: what the rows came from (a file path or a description), used in error messages.
        columns: column name -> values.
    """

    source: str
    columns: dict[str, list]

    @property
    def num_rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def has(self, name: str) -> bool:
        return name in self.columns

    def column(self, name: str, what: str) -> list:
        """The column ``name``; a missing one is a ``ValueError`` naming the table and its columns."""
        if name not in self.columns:
            raise ValueError(f"{self.source}: no {name!r} column ({what}); columns: {sorted(self.columns)}")
        return self.columns[name]

    def optional(self, name: str | None) -> list | None:
        return self.columns.get(name) if name else None

    def where(self, row: int) -> str:
        """``"nodes.csv row 3"``: rows count from 0, the header not included."""
        return f"{self.source} row {row}"


def _read_file(path: Path) -> dict[str, list]:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(
            f"{path}: cannot tell the table format from {path.suffix!r}; use one of {sorted(FORMATS)}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"table {path} does not exist")
    if kind == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    elif kind == "csv":
        import pyarrow.csv as pcsv

        # keep empty cells empty (no text), not null-for-strings guesses; numbers stay numbers
        table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
    else:
        import pyarrow.json as pjson

        try:
            table = pjson.read_json(path)
        except Exception as error:  # pyarrow's message names the line but not our expectation
            raise ValueError(f"{path}: expected JSON Lines (one object per line): {error}") from error
    return {name: table.column(name).to_pylist() for name in table.column_names}


def read_table(source: Any, name: str = "table") -> Table:
    """A :class:`Table` from a file path or in-memory rows (see the module docstring)."""
    if isinstance(source, Table):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return Table(source=str(path), columns=_read_file(path))
    if hasattr(source, "to_dict") and hasattr(source, "columns") and hasattr(source, "iloc"):  # pandas
        columns = {str(column): source[column].tolist() for column in source.columns}
        return Table(source=f"{name} (DataFrame)", columns=_nulls_to_none(columns))
    if hasattr(source, "column_names") and hasattr(source, "to_dict"):  # datasets.Dataset
        return Table(source=f"{name} (Dataset)", columns=source.to_dict())
    if isinstance(source, Mapping):
        columns = {str(key): list(values) for key, values in source.items()}
        lengths = {key: len(values) for key, values in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{name}: columns of different lengths {lengths}")
        return Table(source=name, columns=columns)
    if isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
        keys = list(dict.fromkeys(key for row in source for key in row))
        return Table(source=name, columns={key: [row.get(key) for row in source] for key in keys})
    raise ValueError(
        f"{name}: expected a file path, a DataFrame, a Dataset, rows or columns; got {type(source).__name__}"
    )


def _nulls_to_none(columns: dict[str, list]) -> dict[str, list]:
    """pandas writes missing values as NaN / NaT / pd.NA: make them None (never a float id or text)."""
    import math

    def clean(value):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if type(value).__name__ in ("NAType", "NaTType"):
            return None
        return value

    return {key: [clean(value) for value in values] for key, values in columns.items()}
