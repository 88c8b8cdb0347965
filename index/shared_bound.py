"""A skip threshold shared by the searchers of one query over disjoint parts of a collection.

A sharded (or segmented) index answers with the k best of its shards' top-k. Every document a
shard's heap holds is a real document of the collection, and the shards hold different
documents, so the k-th best score among *all* the shards' heaps, at any moment, is at most the
k-th score of the merged answer. A shard may therefore skip a block whose summary score is below
``heap_factor`` times that shared score, exactly the test the single index applies with its own
heap (Seismic, SIGIR 2024, Algorithm 2: skip when ``dot < heap_factor * heap.peek()``). Alone,
a shard skips against the k-th score of its own heap, which is lower (it sees a fraction of the
documents), so it scores more than its share of the single index's documents; with the shared
score its pruning approaches the single index's.

Layout: per query a row of ``n_searchers x (k + 1)`` float32 (:func:`new_shared`): searcher
``s`` publishes its heap's scores in ``row[s, :k]``, sorted ascending, ``-inf`` for empty places,
and counts its publications in ``row[s, k]``; a searcher reads the k-th largest of every
searcher's published scores (:func:`refresh`), again only when a counter changed.

Why the races are benign (searchers are threads writing and reading the same row without
locks): a heap only ever replaces its minimum by a better pair or fills an empty place, so its
sorted scores rise place by place; published in that order, every float of a row only rises.
A reader may see each float at a different moment (no lock, no ordering), but every value it
reads is at most that place's latest value, and the latest values are scores of distinct real
documents, so the k-th largest of what it reads is at most the merged answer's k-th score: a
stale or mixed read only skips less. Aligned 4-byte stores and loads are not torn on the
machines Numba targets. A searcher that finished leaves its final top-k in the row, so searchers
run one after the other (a living index's segments) start from the best bound of those before.
"""

from __future__ import annotations

import functools

import numpy as np
from lsr.index.queries import check_k
from numba import njit

from lsr.errors import InputError

NO_BOUND = np.float32(-np.inf)


def new_shared(n_queries: int, n_searchers: int, k: int) -> np.ndarray:
    """The shared rows of ``n_queries`` queries searched by ``n_searchers`` (nothing published)."""
    shared = np.full((n_queries, n_searchers, check_k(k) + 1), NO_BOUND, np.float32)
    shared[:, :, k] = 0.0
    return shared


@functools.lru_cache(maxsize=64)
def unshared(n_queries: int, k: int) -> np.ndarray:
    """Rows with no searcher: a search given these skips against its own heap only. They hold
    nothing to write, so one array per shape is made and shared by every search."""
    return np.empty((n_queries, 0, k + 1), np.float32)


#: One query's row with no searcher in it, as a single search that shares nothing is given: a
#: search reads and writes a row only where it has searchers, so this one serves every ``k``.
NO_SEARCHERS = np.empty((0, 1), np.float32)


def check_shared(shared: np.ndarray, slot: int, n_queries: int, k: int) -> np.ndarray:
    """``shared`` as the kernels take it; a wrong shape, type or slot is named."""
    shared = np.asarray(shared)
    if shared.dtype != np.float32 or shared.ndim != 3 or shared.shape[0] != n_queries:
        raise InputError(
            f"shared must be float32 rows of {n_queries} queries (index.shared_bound.new_shared), "
            f"got {shared.dtype} {shared.shape}"
        )
    if shared.shape[2] != k + 1:
        raise InputError(f"shared holds rows for k={shared.shape[2] - 1}, the search asks k={k}")
    if not 0 <= slot < shared.shape[1]:
        raise InputError(f"slot {slot} is not one of the {shared.shape[1]} searchers of shared")
    return shared


@njit(nogil=True, cache=True)
def publish(row, slot, heap_scores, size, k, buffer):
    """Write the heap's ``size`` scores into ``row[slot]`` sorted ascending (place by place,
    each rising), then count the publication."""
    for i in range(size):  # insertion sort: a heap of k, no allocation
        value = heap_scores[i]
        j = i
        while j > 0 and buffer[j - 1] > value:
            buffer[j] = buffer[j - 1]
            j -= 1
        buffer[j] = value
    offset = k - size
    for i in range(size):
        row[slot, offset + i] = buffer[i]
    row[slot, k] += 1.0


@njit(nogil=True, cache=True)
def refresh(row, k, bound, seen, top):
    """``(bound, seen)``: the k-th largest published score (kept if not higher than ``bound``)
    when the sum of the counters differs from ``seen``; ``top`` (k floats) is scratch."""
    total = 0.0
    for s in range(row.shape[0]):
        total += row[s, k]
    if total == seen:
        return bound, seen
    top[:] = NO_BOUND  # the k largest read so far, ascending
    for s in range(row.shape[0]):
        for i in range(k):
            value = row[s, i]
            if value > top[0]:
                j = 0
                while j + 1 < k and top[j + 1] < value:
                    top[j] = top[j + 1]
                    j += 1
                top[j] = value
    return max(bound, top[0]), total


def publish_results(shared: np.ndarray, slot: int, scores: np.ndarray, docs: np.ndarray) -> None:
    """Publish a finished top-k (best first, ``-1`` documents padding) found without the kernel
    (an exact scan), so later searchers of the same queries skip against it."""
    k = scores.shape[1]
    shared[:, slot, :k] = np.where(docs >= 0, scores, NO_BOUND)[:, ::-1]
    shared[:, slot, k] += 1.0
