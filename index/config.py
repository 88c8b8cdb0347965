"""Build and search parameters of the Seismic index, with their defaults and why.

Build defaults are the reference's (``configurations.rs`` of TusKANNy/seismic, tuned on MS MARCO,
8.8M passages): global-threshold pruning to ``n_postings = 3500`` entries per list on average
(none longer than ``max_fraction = 1.5`` times that), ``centroid_fraction = 0.1`` (blocks of ~10
documents), summaries holding ``summary_energy = 0.4`` of their L1 mass, centroid assignment by
the ``doc_cut = 15`` largest entries of each document, clusters of at most
``min_cluster_size = 2`` documents dissolved. Pruning scales with the corpus by itself: the
global budget ``n_postings x vocabulary`` (107M postings for BERT's vocabulary) keeps everything
below ~0.5M documents of ~200 terms and about 10% of MS MARCO's postings.

Smaller indexes trade size for latency. Each row below was built and swept over ``query_cut``
x ``heap_factor`` (one thread, batch search; µs per query at the cheapest setting reaching
accuracy@10 0.95 / 0.99; reproduce a row with ``python -m benchmarks.index --data scifact
--centroid-fraction ... --summary-energy ...``):

=============================================  =========  ==========  ==========
build parameters (others default)              index/fwd  R >= 0.95   R >= 0.99
=============================================  =========  ==========  ==========
SciFact, 5,183 docs: defaults                  23.6x      255         396
SciFact: ``summary_energy 0.2``                12.4x      308         581
SciFact: ``centroid_fraction 0.02, ...0.2``    8.7x       353         564
SciFact: :data:`COMPACT`                       5.1x       372         817
SciFact: ``centroid_fraction 0.02, ...0.05``   3.4x       648         --
200k synthetic, ``n_postings 1000``: defaults  9.2x       see ``reports/bench-index-200k.md``
200k: ``centroid_fraction 0.05, ...0.2``       4.8x       1,688       4,607
200k: :data:`COMPACT`                          2.9x       2,107       4,560
=============================================  =========  ==========  ==========

On a few thousand documents exact search (``ExactIndex``, ~230 µs per SciFact query) is as fast
as any of them: use it there. From ~100k documents on, :data:`COMPACT` (``lsr index build
--compact``) keeps the index at about 3x the forward index for the same accuracy at ~1.5x the
latency of the defaults.

Finer blocks go the other way: a little more index for much less latency on large collections.
With ``centroid_fraction 0.3`` (blocks of ~3 documents instead of ~10) each summary bounds fewer
documents, so it bounds them more tightly and fewer documents are scored for the same accuracy;
once the forward index is far larger than the CPU caches a scored document (a ~1 KB row read at
random from memory, ~270-370 ns at 1M) costs far more than the summaries of its extra blocks.
Each row below is ``lsr index tune INDEX QUERIES --target-accuracy T --dry-run`` (accuracy@10 on
held-out queries, µs per query on one thread; the cheapest setting whose tuning accuracy reaches
T by a standard error), both builds tuned one after the other on one machine (Intel Xeon, family 6
model 167, session 19; the synthetic sets of ``benchmarks.index``). The builds took about the
same time (200k: 96 s against 112 s on two cores):

==========================================  =========  ===============  ===============
build parameters (others default)           index/fwd  T = 0.95         T = 0.99
==========================================  =========  ===============  ===============
SciFact (splade-tiny): defaults             21.4x      138 (0.960)      211 (0.986)
SciFact: ``centroid_fraction 0.3``          24.9x      121 (0.973)      187 (0.988)
200k synthetic, ``n_postings 1000``         7.4x       618 (0.960)      1,492 (0.990)
200k: ``centroid_fraction 0.3``             8.0x       408 (0.955)      805 (0.987)
1M synthetic, ``n_postings 3500``           5.4x       3,054 (0.967)      not tuned
1M: ``centroid_fraction 0.3``               6.1x       1,425 (0.952)      not tuned
==========================================  =========  ===============  ===============

The defaults stay the reference's, so that an index built with them is the one its paper and
code describe, and comparisons with it (``benchmarks.index``) are like for like; for latency on
a large collection, build with ``--centroid-fraction 0.3`` and tune it.

Search defaults (``query_cut 10``, ``heap_factor 0.8``; the reference has none) reach accuracy@10
~0.995 on SciFact and ~0.9998 on 100k synthetic SPLADE-like documents: lower ``query_cut`` or
raise ``heap_factor`` to trade accuracy for speed. :data:`COMPACT`'s smaller summaries bound
their blocks' scores less tightly, so it needs ``heap_factor 0.5`` for the same accuracy
(:data:`COMPACT_SEARCH`). ``engine`` (:data:`ENGINES`) ``auto`` lets an index answer with
exact search where that is faster (:mod:`index.engine`); ``lsr index build`` stores ``auto``
unless told otherwise, while a ``SeismicIndex`` built in code searches its blocks (``seismic``)
unless given ``auto``: code that builds the index asks for what it measures. An index stores the
search parameters it was built for
(:class:`SearchDefaults`, in its manifest), and a search uses them for every parameter it is
not given: the user of a compact index need not know its heap_factor.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

from lsr.index.forward import VALUE_DTYPES
from lsr.index.pruning import STRATEGIES
from lsr.index.queries import check_k

from lsr.errors import InputError

#: The ``--compact`` preset: about 3x the forward index instead of the reference's 7-25x (see
#: the module docstring).
COMPACT = {"centroid_fraction": 0.02, "summary_energy": 0.1}

#: Query-time defaults (see the module docstring).
DEFAULT_QUERY_CUT = 10
DEFAULT_HEAP_FACTOR = 0.8

#: Which engine answers a search: ``auto`` the faster of the two on this index, as timed at build
#: time (:mod:`index.engine`), ``seismic`` the blocked index, ``exact`` exact search.
ENGINES = ("auto", "seismic", "exact")

#: The search defaults a :data:`COMPACT` index stores (see the module docstring).
COMPACT_SEARCH = {"heap_factor": 0.5}


@dataclass(frozen=True)
class BuildConfig:
    """How to build a Seismic index (defaults: the reference's, see the module docstring)."""

    pruning: str = "global_threshold"
    n_postings: int = 3500
    max_fraction: float = 1.5
    centroid_fraction: float = 0.1
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
        _number("centroid_fraction", self.centroid_fraction, 0.0, 1.0, low_open=True)
        _integer("min_cluster_size", self.min_cluster_size, 0)
        _number("summary_energy", self.summary_energy, 0.0, 1.0, low_open=True)
        _integer("doc_cut", self.doc_cut, 1)
        _integer("knn", self.knn, 0)
        _integer("seed", self.seed, 0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildConfig:
        return _from_json(cls, data, "build parameter")


@dataclass(frozen=True)
class SearchParams:
    """Query-time parameters (Seismic, Algorithm 2), validated once per call."""

    k: int = 10
    query_cut: int = DEFAULT_QUERY_CUT
    heap_factor: float = DEFAULT_HEAP_FACTOR
    first_sorted: bool = False
    global_order: bool = False
    n_knn: int = 0
    engine: str = "seismic"

    def __post_init__(self) -> None:
        _integer("k", self.k, 1)
        _integer("query_cut", self.query_cut, 1)
        _number("heap_factor", self.heap_factor, 0.0, math.inf, low_open=False)
        for name in ("first_sorted", "global_order"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be a bool, got {getattr(self, name)!r}")
        _integer("n_knn", self.n_knn, 0)
        _choice("engine", self.engine, ENGINES)


@dataclass(frozen=True)
class SearchDefaults:
    """The query-time parameters an index is searched with unless a call gives its own; stored
    in the index manifest as ``search_defaults`` (an index saved without them gets these
    defaults). ``k`` is not among them: it is the caller's question, not the index's tuning."""

    query_cut: int = DEFAULT_QUERY_CUT
    heap_factor: float = DEFAULT_HEAP_FACTOR
    first_sorted: bool = False
    global_order: bool = False
    n_knn: int = 0
    engine: str = "seismic"

    def __post_init__(self) -> None:
        self.params(k=1)  # the same checks as at search time, naming the parameter

    def params(self, k: int, **given: Any) -> SearchParams:
        """:class:`SearchParams` of a search: ``given`` values, these for those left ``None``.

        Validating costs ~8 µs, as much as a fast query's whole Python side, and a service
        asks the same few settings again and again: each distinct request (told apart by
        type too, so ``True`` never passes for ``1``) is validated once and remembered."""
        try:
            return _remembered_params(self, k, **given)
        except TypeError:  # an unhashable value: validation names the parameter
            return self._validated_params(k, **given)

    def _validated_params(self, k: int, **given: Any) -> SearchParams:
        unknown = set(given) - set(self.__dataclass_fields__)
        if unknown:
            raise InputError(f"unknown search parameter {sorted(unknown)[0]!r}")
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values |= {name: value for name, value in given.items() if value is not None}
        return SearchParams(k=k, **values)

    def params_for(self, has_knn: bool, k: int, **given: Any) -> SearchParams:
        """:meth:`params` of a search of an index that has a kNN graph or not (``has_knn``):
        ``k`` checked, and neighbours asked of an index without a graph refused, since
        expanding results through a missing graph would silently do nothing."""
        params = self.params(check_k(k), **given)
        check_knn(params.n_knn, has_knn)
        return params

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchDefaults:
        return _from_json(cls, data, "search parameter")


@functools.lru_cache(maxsize=256, typed=True)
def _remembered_params(defaults: SearchDefaults, k: int, **given: Any) -> SearchParams:
    return defaults._validated_params(k, **given)


def check_knn(n_knn: int, has_knn: bool) -> None:
    """``n_knn`` neighbours per result are refused on an index without a kNN graph."""
    if n_knn > 0 and not has_knn:
        raise InputError(
            f"n_knn={n_knn}: this index has no kNN graph; build it with knn > 0 "
            "(lsr index build --knn N) or search with n_knn 0"
        )


def _from_json(cls: type, data: dict[str, Any], what: str) -> Any:
    """``cls(**data)`` for a manifest's parameters, refusing a key the dataclass lacks by name
    (a manifest from a newer version, or a typo in a hand-edited one)."""
    unknown = set(data) - set(cls.__dataclass_fields__)
    if unknown:
        raise InputError(f"unknown {what} {sorted(unknown)[0]!r}")
    return cls(**data)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _integer(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise InputError(f"{name} must be an integer >= {low}, got {value!r}")


def _number(name: str, value: object, low: float, high: float, low_open: bool) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and value <= high
    if not ok:
        bound = f"in ({low}, {high}]" if low_open else f"in [{low}, {high}]"
        raise InputError(f"{name} must be a number {bound}, got {value!r}")
