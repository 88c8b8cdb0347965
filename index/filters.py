"""Filters over document attributes, in Qdrant's shape, compiled to a set of documents.

A filter is JSON::

    {"must": [cond, ...], "should": [cond, ...], "must_not": [cond, ...]}

A document passes when it meets every ``must`` condition, at least one ``should`` condition (if
there are any) and no ``must_not`` condition, as in Qdrant's filtering
(https://qdrant.tech/documentation/concepts/filtering/). A condition is a nested filter or:

- ``{"key": k, "match": {"value": v}}``: the attribute equals ``v`` (string, number, or date as
  ISO 8601 for a date attribute);
- ``{"key": k, "match": {"any": [v, ...]}}``: equals one of them;
- ``{"key": k, "range": {"gt": a, "gte": b, "lt": c, "lte": d}}``: any of the four bounds, numbers
  (or ISO 8601 dates for a date attribute).

A document without the key meets no condition on it (so ``must_not`` keeps it). :func:`parse`
checks the shape once and names the field at fault (``filter.must[1].range.gt``);
:meth:`Filter.mask` evaluates it on one segment's :class:`~index.attributes.Attributes`,
vectorised over the documents. The result is what the search kernels skip
(:mod:`index.bitset`); :class:`~index.segmented.SegmentedIndex` caches it per filter.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from lsr.index.attributes import Attributes, Column, parse_date

from lsr.errors import InputError

CLAUSES = ("must", "should", "must_not")
#: Nested filters deeper than this are refused (a request cannot make the parser recurse
#: without bound).
MAX_DEPTH = 8
BOUNDS = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}


@dataclass(frozen=True)
class Match:
    key: str
    values: tuple[Any, ...]
    where: str

    def mask(self, attributes: Attributes) -> np.ndarray:
        column = attributes.columns.get(self.key)
        if column is None:
            return np.zeros(attributes.n_docs, dtype=bool)
        wanted = [_comparable(column, value, self.where) for value in self.values]
        wanted = [v for v in wanted if v is not None]
        if not wanted:
            return np.zeros(attributes.n_docs, dtype=bool)
        values = column.strings if column.type == "string" else np.asarray(column.values)
        return column.present & np.isin(values, np.array(wanted))


@dataclass(frozen=True)
class Range:
    key: str
    bounds: tuple[tuple[str, Any], ...]
    where: str

    def mask(self, attributes: Attributes) -> np.ndarray:
        column = attributes.columns.get(self.key)
        if column is None or column.type == "string":
            return np.zeros(attributes.n_docs, dtype=bool)
        result = column.present.copy()
        values = np.asarray(column.values)
        for name, bound in self.bounds:
            limit = _comparable(column, bound, f"{self.where}.{name}")
            if limit is None:
                return np.zeros(attributes.n_docs, dtype=bool)
            result &= BOUNDS[name](values, limit)
        return result


@dataclass(frozen=True)
class Filter:
    must: tuple = ()
    should: tuple = ()
    must_not: tuple = ()
    #: The filter's canonical JSON: equal filters, however written, share a cached document set.
    key: str = ""

    def mask(self, attributes: Attributes) -> np.ndarray:
        """Which documents of a segment pass."""
        result = np.ones(attributes.n_docs, dtype=bool)
        for condition in self.must:
            result &= condition.mask(attributes)
        if self.should:
            any_of = np.zeros(attributes.n_docs, dtype=bool)
            for condition in self.should:
                any_of |= condition.mask(attributes)
            result &= any_of
        for condition in self.must_not:
            result &= ~condition.mask(attributes)
        return result


def parse(data: Any, where: str = "filter") -> Filter:
    """A :class:`Filter` from its JSON form (a dict, or a JSON string), checked (a parsed
    :class:`Filter` is returned as it is)."""
    if isinstance(data, Filter):
        return data
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc})") from None
    filter_ = _filter(data, where, 0)
    return Filter(filter_.must, filter_.should, filter_.must_not, json.dumps(data, sort_keys=True))


def _filter(data: Any, where: str, depth: int) -> Filter:
    if depth > MAX_DEPTH:
        raise InputError(f"{where}: filters nest at most {MAX_DEPTH} deep")
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: a filter is an object with must / should / must_not")
    unknown = set(data) - set(CLAUSES)
    if unknown:
        raise InputError(
            f"{where}.{sorted(unknown)[0]}: unknown clause; a filter has {', '.join(CLAUSES)}"
        )
    clauses = {}
    for clause in CLAUSES:
        conditions = data.get(clause, [])
        if not isinstance(conditions, list):
            raise InputError(f"{where}.{clause}: must be a list of conditions")
        clauses[clause] = tuple(
            _condition(c, f"{where}.{clause}[{i}]", depth) for i, c in enumerate(conditions)
        )
    return Filter(**clauses)


def _condition(data: Any, where: str, depth: int):
    if isinstance(data, Mapping) and set(data) & set(CLAUSES) and "key" not in data:
        return _filter(data, where, depth + 1)
    if not isinstance(data, Mapping) or not isinstance(data.get("key"), str) or not data["key"]:
        raise InputError(f"{where}.key: a condition needs a 'key' (the attribute's name)")
    kinds = set(data) - {"key"}
    if kinds == {"match"}:
        return _match(data["key"], data["match"], f"{where}.match")
    if kinds == {"range"}:
        return _range(data["key"], data["range"], f"{where}.range")
    raise InputError(f"{where}: a condition has 'key' and one of 'match' or 'range'")


def _match(key: str, data: Any, where: str) -> Match:
    if not isinstance(data, Mapping) or len(data) != 1 or not set(data) <= {"value", "any"}:
        raise InputError(f"{where}: must be {{'value': v}} or {{'any': [v, ...]}}")
    if "value" in data:
        values = (_scalar(data["value"], f"{where}.value"),)
    else:
        if not isinstance(data["any"], list) or not data["any"]:
            raise InputError(f"{where}.any: must be a non-empty list")
        values = tuple(_scalar(v, f"{where}.any[{i}]") for i, v in enumerate(data["any"]))
    return Match(key, values, where)


def _range(key: str, data: Any, where: str) -> Range:
    if not isinstance(data, Mapping) or not data or set(data) - set(BOUNDS):
        raise InputError(f"{where}: must hold some of {', '.join(BOUNDS)}")
    for name, bound in data.items():
        _scalar(bound, f"{where}.{name}")
        if isinstance(bound, str):
            parse_date(bound, f"{where}.{name}")
    return Range(key, tuple(sorted(data.items())), where)


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Real)):
        raise InputError(f"{where}: must be a string or a number, got {value!r}")
    return value


def _comparable(column: Column, value: Any, where: str) -> Any:
    """``value`` in the column's stored form, or None when it cannot equal any of them (a
    number against a string attribute: no document matches)."""
    if column.type == "string":
        return value if isinstance(value, str) else None
    if column.type == "number":
        return float(value) if isinstance(value, numbers.Real) else None
    return parse_date(value, where) if isinstance(value, str) else None
