"""Which engine answers a search: the Seismic index or exact search, whichever is faster here.

A blocked index pays for its skipping with summary scoring and scattered document reads; on a
few thousand documents exact term-at-a-time search over every posting (:class:`ExactIndex`) is
faster, and it is exact (SciFact, 5k documents: 66 µs a query against 251 for Seismic at its
defaults and ~200 for the reference at accuracy@10 0.95; ``reports/bench-engine-intel-s18.md``). So at
build time both are timed on a sample of the collection's own documents used as queries (one
thread, interleaved rounds, :mod:`index.timing`) and the figures are kept in the index's
``stats.engines``; ``engine="auto"`` (what ``lsr index build`` stores by default in the index's
:class:`~index.config.SearchDefaults`) then searches with the faster of the two. ``lsr index tune`` replaces the figures with ones
measured on real queries at the tuned setting.

Exact search is timed on at most ``max_exact_docs`` documents (a random sample of the
collection) and its time scaled by ``n_docs / sampled``: its cost is the total length of the
query terms' full posting lists, which grows linearly with the collection, and building its
term-major copy of a million documents for the measurement alone would take longer and more
memory than the build's bound allows. Where exact search is chosen, the searching index builds
that copy once, on its first exact search.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from lsr.index.config import SearchParams
from lsr.index.exact import ExactIndex
from lsr.index.timing import fastest, one_thread

from lsr.vectors import SparseCollection

#: Documents used as queries at build time, and exact search's sample bound (see the docstring).
N_QUERIES = 32
MAX_EXACT_DOCS = 50_000
ROUNDS = 2


@dataclass(frozen=True)
class EngineTiming:
    """Mean latency per query of each engine on one thread, and what it was measured on
    (``documents`` used as queries at build time, or the user's ``queries`` by ``lsr index
    tune``)."""

    seismic_us: float
    exact_us: float
    n_queries: int
    measured_on: str

    @property
    def faster(self) -> str:
        return "exact" if self.exact_us < self.seismic_us else "seismic"

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"faster": self.faster}

    @classmethod
    def from_stats(cls, stats: dict[str, Any]) -> EngineTiming | None:
        """The timing kept in an index's stats; ``None`` for an index built before it was, or
        whose entry is damaged (a hint for ``auto``, not data: Seismic is then used)."""
        entry = stats.get("engines")
        try:
            return cls(
                float(entry["seismic_us"]), float(entry["exact_us"]), int(entry["n_queries"]),
                str(entry["measured_on"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            return None


def resolve(params: SearchParams, timing: EngineTiming | None) -> str:
    """The engine a search runs on: the one asked for, or for ``auto`` the faster one (Seismic
    when the index holds no timing)."""
    if params.engine != "auto":
        return params.engine
    return timing.faster if timing is not None else "seismic"


def measure(
    index: Any,
    params: SearchParams,
    n_queries: int = N_QUERIES,
    max_exact_docs: int = MAX_EXACT_DOCS,
    rounds: int = ROUNDS,
    seed: int = 0,
) -> EngineTiming:
    """Time ``index`` (a :class:`~index.seismic.SeismicIndex`) at ``params`` against exact
    search, on ``n_queries`` of its documents used as queries (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_docs = len(index)
    if n_docs == 0:
        return EngineTiming(0.0, 0.0, 0, "documents")
    queries = _rows(index, np.sort(rng.choice(n_docs, min(n_queries, n_docs), replace=False)))
    sampled = min(n_docs, max_exact_docs)
    exact = ExactIndex(_rows(index, np.sort(rng.choice(n_docs, sampled, replace=False))))
    seismic = dict(
        k=params.k, query_cut=params.query_cut, heap_factor=params.heap_factor,
        first_sorted=params.first_sorted, global_order=params.global_order, n_knn=params.n_knn,
        engine="seismic",
    )  # fmt: skip
    with one_thread():
        runs = [
            lambda: index.search_batch(queries, **seismic),
            lambda: exact.search_batch(queries, k=params.k),
        ]
        for run in runs:  # load the compiled kernels before timing
            run()
        seismic_s, exact_s = fastest(runs, rounds)
    return EngineTiming(
        seismic_us=round(1e6 * seismic_s / len(queries), 1),
        exact_us=round(1e6 * exact_s / len(queries) * n_docs / sampled, 1),
        n_queries=len(queries),
        measured_on="documents",
    )


def _rows(index: Any, positions: np.ndarray) -> SparseCollection:
    """Documents at ``positions`` as a collection of their stored weights (ids: positions)."""
    indptr, terms, values = index.forward.rows_at(positions)
    return SparseCollection(
        [str(p) for p in positions.tolist()],
        indptr,
        terms,
        values,
        index.metadata,
    )
