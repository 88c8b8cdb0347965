"""The cheapest search parameters of an index that reach a target accuracy: ``lsr index tune``.

Seismic's query-time knobs (Bruch et al., SIGIR 2024, Algorithm 2: ``query_cut`` lists visited,
blocks skipped when ``summary_score < heap_factor * heap_min``, ``first_sorted``, and our
``global_order``, :mod:`index.block_order`) trade accuracy
for speed differently on every collection, and the reference leaves them to the user. Here a
grid of them is searched on a sample of the user's queries, each setting's accuracy@k measured
against exact search over the index's own stored weights (:mod:`index.accuracy`) and its mean
latency timed on one thread. The sample is split in two: the setting is *chosen* on the tuning
half and *reported* on the held-out half, which took no part in the choice, so the figure the
user sees is not the optimum of a search over noise. The choice is the fastest setting whose
tuning accuracy minus its standard error (``std / sqrt(n)`` over the per-query accuracies)
reaches the target: one that reaches it by less than that is within noise of missing it on the
next queries (on 100 queries the standard error is ~0.01 at accuracy 0.95).

Latency is the minimum over ``rounds`` interleaved rounds (:func:`index.timing.fastest`). Exact
search is timed beside the grid, and the two latencies become the index's engine timing
(:mod:`index.engine`): measured on the user's queries, they replace the build's estimate from
documents used as queries, so ``engine auto`` picks exact search where it is the faster one at
the chosen setting.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import product
from typing import Any

import numpy as np
from lsr.index import persist
from lsr.index.accuracy import accuracy_per_query
from lsr.index.config import SearchDefaults
from lsr.index.engine import EngineTiming
from lsr.index.queries import check_k
from lsr.index.timing import fastest, one_thread

from lsr.errors import InputError
from lsr.vectors import SparseCollection

#: The grid searched by default: ``query_cut`` up to a long query's length, the ``heap_factor``
#: range where accuracy@10 moves from ~0.9 to ~1.0 on SciFact and synthetic SPLADE vectors, and
#: the three block orders, as ``(first_sorted, global_order)``: lists one after the other,
#: the first list's blocks by score, all the lists' blocks by score.
QUERY_CUTS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 30)
HEAP_FACTORS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
BLOCK_ORDERS = ((False, False), (True, False), (False, True))

#: Fewest queries each half of the sample may hold: below that one query moves the accuracy by
#: more than the gap between two targets users ask for.
MIN_QUERIES_PER_HALF = 10


@dataclass(frozen=True)
class TunePoint:
    """One setting of the grid: its parameters, its accuracy on each half, its mean latency."""

    query_cut: int
    heap_factor: float
    first_sorted: bool
    tuning_accuracy: float
    tuning_stderr: float
    held_out_accuracy: float
    latency_us: float
    global_order: bool = False

    def reaches(self, target: float) -> bool:
        """Whether the tuning accuracy reaches ``target`` by more than its standard error."""
        return self.tuning_accuracy - self.tuning_stderr >= target

    def defaults(self, base: SearchDefaults) -> SearchDefaults:
        """``base`` with this point's parameters (``n_knn`` and anything else kept)."""
        values = base.to_json() | {
            "query_cut": self.query_cut,
            "heap_factor": self.heap_factor,
            "first_sorted": self.first_sorted,
            "global_order": self.global_order,
        }
        return SearchDefaults(**values)


@dataclass(frozen=True)
class TuneResult:
    """The choice (``None`` when no setting reached the target), the accuracy/latency frontier
    (settings no other is both more accurate on the tuning half and faster than, fastest first,
    and the choice) and what the figures were measured on."""

    choice: TunePoint | None
    frontier: list[TunePoint]
    target: float
    k: int
    n_tuning: int
    n_held_out: int
    exact_us: float

    def to_json(self) -> dict[str, Any]:
        """What the index's manifest keeps of a tuning (``stats.tuning``): the choice and its figures."""
        choice = None if self.choice is None else self.choice.__dict__
        return {
            "target_accuracy": self.target,
            "k": self.k,
            "n_tuning": self.n_tuning,
            "n_held_out": self.n_held_out,
            "choice": choice,
            "exact_us": self.exact_us,
        }


def split_sample(
    queries: SparseCollection, budget: int, seed: int
) -> tuple[SparseCollection, SparseCollection]:
    """At most ``budget`` queries drawn at random, halved into tuning and held-out sets."""
    n = min(len(queries), budget)
    if n < 2 * MIN_QUERIES_PER_HALF:
        raise InputError(
            f"budget_queries: tuning needs at least {2 * MIN_QUERIES_PER_HALF} queries "
            f"({MIN_QUERIES_PER_HALF} to choose on, {MIN_QUERIES_PER_HALF} held out); "
            f"got {n} (the file holds {len(queries)}, the budget is {budget})"
        )
    picked = np.random.default_rng(seed).permutation(len(queries))[:n]
    half = n // 2
    return _rows(queries, np.sort(picked[:half])), _rows(queries, np.sort(picked[half:]))


def _rows(queries: SparseCollection, positions: np.ndarray) -> SparseCollection:
    return SparseCollection.concat([queries.slice(p, p + 1) for p in positions.tolist()])


def tune(
    index: Any,
    queries: SparseCollection,
    target: float,
    k: int = 10,
    budget_queries: int = 200,
    grid: Sequence[tuple[int, float, bool] | tuple[int, float, bool, bool]] | None = None,
    rounds: int = 3,
    seed: int = 0,
) -> TuneResult:
    """Search ``grid`` (``(query_cut, heap_factor, first_sorted[, global_order])`` settings;
    default the product of :data:`QUERY_CUTS`, :data:`HEAP_FACTORS`, :data:`BLOCK_ORDERS`) on a
    sample of ``queries`` for the cheapest setting of ``index`` (a :class:`~index.seismic.SeismicIndex`)
    whose accuracy@k on the tuning half reaches ``target`` (see the module docstring)."""
    if not 0.0 < target <= 1.0:
        raise InputError(f"target_accuracy must be in (0, 1], got {target!r}")
    k = check_k(k)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise InputError(f"rounds must be a positive integer, got {rounds!r}")
    if grid is None:
        grid = [(q, h, *o) for q, h, o in product(QUERY_CUTS, HEAP_FACTORS, BLOCK_ORDERS)]
    grid = list(grid)
    if not grid:
        raise InputError("grid: no setting to try")
    tuning, held_out = split_sample(queries, budget_queries, seed)
    exact = index.exact()
    truth = (exact.search_batch(tuning, k=k), exact.search_batch(held_out, k=k))
    points = []
    names = ("query_cut", "heap_factor", "first_sorted", "global_order")
    with one_thread():
        seismic = partial(index.search_batch, k=k, engine="seismic")
        seismic(tuning.slice(0, 1))  # load the compiled kernels before timing
        runs = [partial(seismic, tuning, **dict(zip(names, s))) for s in grid]
        runs.append(partial(exact.search_batch, tuning, k=k))
        *seconds, exact_seconds = fastest(runs, rounds)
        for setting, elapsed in zip(grid, seconds):
            params = dict(zip(names, setting))
            tuned, held = (
                accuracy_per_query(seismic(part, **params), ref, k)
                for part, ref in zip((tuning, held_out), truth)
            )
            points.append(
                TunePoint(**params, tuning_accuracy=float(tuned.mean()),
                          tuning_stderr=float(tuned.std() / np.sqrt(len(tuned))),
                          held_out_accuracy=float(held.mean()),
                          latency_us=1e6 * elapsed / len(tuning))
            )  # fmt: skip
    choice = choose(points, target)
    shown = frontier(points)
    if choice is not None and choice not in shown:  # a faster point with a wider error beat it
        shown = sorted([*shown, choice], key=lambda p: p.latency_us)
    exact_us = 1e6 * exact_seconds / len(tuning)
    return TuneResult(choice, shown, target, k, len(tuning), len(held_out), exact_us)


def choose(points: Sequence[TunePoint], target: float) -> TunePoint | None:
    """The fastest point that reaches ``target`` (:meth:`TunePoint.reaches`), if any."""
    reaching = [p for p in points if p.reaches(target)]
    return min(reaching, key=lambda p: p.latency_us) if reaching else None


def frontier(points: Sequence[TunePoint]) -> list[TunePoint]:
    """The settings that no other is both at least as accurate (tuning half) and faster than,
    fastest first: the only ones worth choosing between."""
    best = -1.0
    kept = []
    for point in sorted(points, key=lambda p: (p.latency_us, -p.tuning_accuracy)):
        if point.tuning_accuracy > best:
            kept.append(point)
            best = point.tuning_accuracy
    return kept


def store(directory: str | os.PathLike, result: TuneResult, base: SearchDefaults) -> None:
    """Make the choice the index's ``search_defaults`` (and keep the figures under ``tuning``)
    in its manifest, rewritten atomically: search, ``lsr eval`` and ``lsr serve`` use them."""
    if result.choice is None:
        raise InputError(
            f"target_accuracy {result.target}: no setting reached it on the tuning queries; "
            "nothing stored"
        )
    defaults = result.choice.defaults(base)
    timing = EngineTiming(result.choice.latency_us, result.exact_us, result.n_tuning, "queries")
    # Under stats, which a later save of the index keeps.
    stats = persist.read_manifest(directory).get("stats", {}) | {
        "tuning": result.to_json(),
        "engines": timing.to_json(),
    }
    persist.update_manifest(directory, {"search_defaults": defaults.to_json(), "stats": stats})
