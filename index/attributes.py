"""Document attributes (strings, numbers, dates) that filters test, one table per segment.

Attributes are what a user restricts a search by: a tenant, a source, a year. They arrive with
the documents (``LivingIndex.add(..., attributes={id: {key: value}})``; the CLI reads them from
a JSONL or Parquet side file or from extra columns of the vectors' Parquet) and are stored per
segment, aligned with its documents, as one column per key:

- ``string``: UTF-8 bytes and offsets (:func:`index.persist.encode_strings`);
- ``number``: float64 (integers up to 2**53 exactly; booleans are refused, not guessed);
- ``date``: int64 microseconds since 1970-01-01 UTC, from ``datetime`` / ``date`` values or
  from strings in ISO 8601 (``2024-05-01``, ``2024-05-01T12:00:00Z``) when every value of the key
  in the batch is one;

and a presence flag per document: a document without the key matches no condition on it (as in
Qdrant). The table is written with :func:`index.persist.save_arrays` (atomic, checked at load).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from lsr.index import persist

from lsr.errors import IndexFormatError, InputError

TYPES = ("string", "number", "date")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def parse_date(value: Any, where: str) -> int:
    """Microseconds since the epoch (UTC) of a ``date``, ``datetime`` or ISO 8601 string; a
    date or a datetime without a time zone is taken as UTC."""
    if isinstance(value, str):
        if not _ISO_DATE.fullmatch(value):
            raise InputError(f"{where}: {value!r} is not an ISO 8601 date (2024-05-01[T12:00:00Z])")
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise InputError(f"{where}: expected a date, got {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return (value - _EPOCH) // dt.timedelta(microseconds=1)


def _type_of(key: str, values: list[Any], ids: Sequence[str]) -> str:
    """The column type of ``key`` from its present values (see the module docstring)."""
    kinds = set()
    for doc_id, value in zip(ids, values):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float, dt.date)):
            raise InputError(
                f"attributes of {doc_id!r}, field {key!r}: {value!r} is not a string, number or "
                "date"
            )
        kinds.add("number" if isinstance(value, (int, float)) else type(value).__name__)
    if kinds <= {"number"}:
        return "number"
    if kinds <= {"date", "datetime"}:
        return "date"
    if kinds == {"str"} and all(v is None or _ISO_DATE.fullmatch(v) for v in values):
        return "date"
    if kinds == {"str"}:
        return "string"
    raise InputError(f"attributes, field {key!r}: mixes {' and '.join(sorted(kinds))} values")


@dataclass(frozen=True)
class Column:
    """One attribute of a segment's documents; ``values`` as the type stores them."""

    type: str
    present: np.ndarray
    values: np.ndarray | persist.StringList

    @cached_property
    def strings(self) -> np.ndarray:
        """A string column's values as a numpy unicode array, for vectorised comparisons."""
        return np.array(list(self.values) or [""], dtype=str)[: len(self.present)]


class Attributes:
    """The attribute columns of one segment's documents (``n_docs`` rows)."""

    def __init__(self, n_docs: int, columns: Mapping[str, Column]) -> None:
        self.n_docs = n_docs
        self.columns = dict(columns)

    @classmethod
    def empty(cls, n_docs: int) -> Attributes:
        return cls(n_docs, {})

    @classmethod
    def from_records(cls, ids: Sequence[str], records: Sequence[Mapping[str, Any]]) -> Attributes:
        """Columns from one ``{key: value}`` record per document (``{}``: no attributes)."""
        keys = sorted({key for record in records for key in record})
        columns = {}
        for key in keys:
            if not isinstance(key, str) or not key:
                raise InputError(f"attributes: field names must be non-empty strings, got {key!r}")
            values = [record.get(key) for record in records]
            kind = _type_of(key, values, ids)
            present = np.array([v is not None for v in values], dtype=bool)
            if kind == "string":
                stored = persist.encode_strings([v if v is not None else "" for v in values])
                column = Column(kind, present, persist.StringList(*stored))
            elif kind == "number":
                column = Column(kind, present, np.array([v or 0 for v in values], np.float64))
            else:
                micros = [
                    parse_date(v, f"attributes of {i!r}, field {key!r}") if v is not None else 0
                    for i, v in zip(ids, values)
                ]
                column = Column(kind, present, np.array(micros, dtype=np.int64))
            columns[key] = column
        return cls(len(records), columns)

    def records(self, positions: np.ndarray) -> list[dict[str, Any]]:
        """The attributes of the documents at ``positions`` as records (dates as ``datetime``),
        to write them again with the documents (a merge)."""
        records: list[dict[str, Any]] = [{} for _ in range(len(positions))]
        for key, column in self.columns.items():
            for record, p in zip(records, np.asarray(positions).tolist()):
                if column.present[p]:
                    record[key] = _value(column, p)
        return records

    def save(self, directory: str | os.PathLike) -> None:
        arrays: dict[str, np.ndarray] = {}
        described = []
        for i, (key, column) in enumerate(self.columns.items()):
            described.append({"key": key, "type": column.type})
            arrays[f"a{i}.present"] = column.present.astype(np.uint8)
            if column.type == "string":
                data, offsets = persist.encode_strings(list(column.values))
                arrays[f"a{i}.bytes"], arrays[f"a{i}.offsets"] = data, offsets
            else:
                arrays[f"a{i}.values"] = np.asarray(column.values)
        persist.save_arrays(directory, arrays, {"attributes": described, "n_docs": self.n_docs})

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Attributes:
        manifest, arrays = persist.load_arrays(directory)
        source = Path(directory) / persist.MANIFEST
        try:
            n_docs = int(manifest["n_docs"])
            columns = {}
            for i, entry in enumerate(manifest["attributes"]):
                kind = entry["type"]
                if kind not in TYPES:
                    raise IndexFormatError(f"{source}: attribute type {kind!r} unknown")
                present = arrays[f"a{i}.present"].astype(bool)
                if kind == "string":
                    values = persist.StringList(arrays[f"a{i}.bytes"], arrays[f"a{i}.offsets"])
                else:
                    values = arrays[f"a{i}.values"]
                if len(present) != n_docs or len(values) != n_docs:
                    raise IndexFormatError(
                        f"{source}: attribute {entry['key']!r} is not {n_docs} long"
                    )
                columns[str(entry["key"])] = Column(kind, present, values)
        except KeyError as exc:
            raise IndexFormatError(f"{source}: missing entry {exc.args[0]!r}") from None
        return cls(n_docs, columns)


def _value(column: Column, position: int) -> Any:
    if column.type == "string":
        return column.values[position]
    if column.type == "number":
        number = float(column.values[position])
        return int(number) if number.is_integer() else number
    return _EPOCH + dt.timedelta(microseconds=int(column.values[position]))
