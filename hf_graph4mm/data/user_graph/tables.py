"""Reading a user's table (nodes or edges) from parquet, CSV or JSON Lines into columns.

A table is a file (``.parquet``, ``.csv``, ``.jsonl`` / ``.json`` with one JSON object per line;
JSON values keep their types, CSV cells are typed one by one: ``12`` an integer, ``1.5`` or ``1.0`` a
float, anything else text),
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


def _csv_value(text: str | None):
    """A CSV cell typed by its own text: ``"12"`` -> 12, ``"1.5"`` / ``"1.0"`` -> float (never an int),
    anything else stays text. Each cell on its own, so one ``1.5`` does not turn a column's ``0`` into ``0.0``."""
    if text is None:
        return None
    stripped = text.strip()
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        return text


def _read_csv(path: Path, text_columns: tuple[str, ...]) -> dict[str, list]:
    import csv

    import pyarrow as pa
    import pyarrow.csv as pcsv

    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    table = pcsv.read_csv(
        path,
        convert_options=pcsv.ConvertOptions(
            column_types={name: pa.string() for name in header}, strings_can_be_null=True
        ),
    )
    return {
        name: [
            value if name in text_columns else _csv_value(value) for value in table.column(name).to_pylist()
        ]
        for name in table.column_names
    }


def _read_json_lines(path: Path) -> dict[str, list]:
    """JSON Lines with Python's own types kept (a ``true`` stays a bool, ``1.0`` a float)."""
    import json

    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path} line {number} is not JSON ({error})") from None
            if not isinstance(row, dict):
                raise ValueError(
                    f"{path} line {number}: expected one JSON object per line, got {type(row).__name__}"
                )
            rows.append(row)
    keys = list(dict.fromkeys(key for row in rows for key in row))
    return {key: [row.get(key) for row in rows] for key in keys}


def _read_file(path: Path, text_columns: tuple[str, ...]) -> dict[str, list]:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(
            f"{path}: cannot tell the table format from {path.suffix!r}; use one of {sorted(FORMATS)}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"table {path} does not exist")
    if kind == "csv":
        return _read_csv(path, text_columns)
    if kind == "json":
        return _read_json_lines(path)
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return {name: table.column(name).to_pylist() for name in table.column_names}


def read_table(source: Any, name: str = "table", text_columns: tuple[str, ...] = ()) -> Table:
    """A :class:`Table` from a file path or in-memory rows (see the module docstring).

    CSV cells are typed one by one (integers, floats, else text), except in ``text_columns``, which
    stay text (a product named ``"42"`` is not the number 42).
    """
    if isinstance(source, Table):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return Table(source=str(path), columns=_read_file(path, tuple(text_columns)))
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
