"""Exact top-k retrieval by inner product: the ground truth every approximate search is measured by.

Term-at-a-time over a full (unpruned) inverted index: for each query term, walk its whole posting
list and add ``q_t * d_t`` into a dense float32 accumulator of every document. A document
matches a query when its score is positive (weights are positive: zeros are dropped on input).

The k best are then found without visiting every document one by one. Each posting also flags
its document's chunk of :data:`CHUNK` documents as touched; the largest score of each touched
chunk is taken in vector code (non-negative floats order as their bit patterns do, so an integer
maximum, which the compiler vectorizes, serves); the k-th largest chunk maximum is a lower bound
of the k-th best score (the k best chunks each hold a document that scores their maximum), so
only chunks whose maximum reaches it are searched document by document. Tracking touched
documents one by one instead (a test and a list append per posting) made the search 3-4x slower
on SciFact, Vaswani and Cranfield (``reports/exact-s18.md``).

Scores are then made *canonical*: every candidate whose accumulated score is within the float32
rounding margin of the k-th best is rescored with :func:`index.forward.dot_dense`, the function
Seismic scores documents with, and the top-k is taken over those scores. Float addition is not
associative, so the two summation orders may differ in the last bits; since all products are
non-negative, each sum is within ``n * 2**-24`` (relative) of the true value for a document of
``n`` terms, so no document outside the margin ``2 * (max_nnz + 1) * 2**-24`` can enter the
top-k. Exact and Seismic scores of a document are therefore bit-identical.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numba
import numpy as np
from lsr.index.forward import dot_dense
from lsr.index.parallel import launch_guard
from lsr.index.queries import canonical, check_batch, check_canonical, check_k, query_arrays
from lsr.index.results import SearchResults, row_hits
from lsr.index.topk import heap_drain, heap_offer
from numba import njit, prange

from lsr.vectors import SparseCollection

#: Documents a touched flag covers (a power of two: ``CHUNK_SHIFT`` bits of a position).
CHUNK_SHIFT = 6
CHUNK = 1 << CHUNK_SHIFT


@njit(nogil=True, cache=True)
def _accumulate(offsets, post_docs, post_values, q_terms, q_weights, acc, touched, q_dense):
    """Every query term's whole posting list added into ``acc``, its documents' chunks flagged
    in ``touched``; the query spread into ``q_dense`` for the rescoring."""
    for t in range(len(q_terms)):
        term = q_terms[t]
        weight = q_weights[t]
        q_dense[term] = weight
        for p in range(offsets[term], offsets[term + 1]):
            doc = post_docs[p]
            acc[doc] += weight * post_values[p]
            touched[doc >> CHUNK_SHIFT] = True


@njit(nogil=True, cache=True, inline="always")
def _chunk_end(c, n_docs):
    return min(n_docs, (c + 1) << CHUNK_SHIFT)


@njit(nogil=True, cache=True)
def _chunk_maxima(acc, touched, maxima):
    """The largest score of every touched chunk (untouched: 0), as float32, taken over the int32
    bits of the scores (all non-negative, so ordered alike), whose maximum vectorizes where a
    float maximum may not."""
    bits = acc.view(np.int32)
    for c in range(len(touched)):
        top = np.int32(0)
        if touched[c]:
            for d in range(c << CHUNK_SHIFT, _chunk_end(c, len(acc))):
                value = bits[d]
                top = value if value > top else top
        maxima[c] = top
    return maxima.view(np.float32)


@njit(nogil=True, cache=True)
def _kth_largest(values, k):
    """The k-th largest of ``values`` (0 when fewer than k are positive)."""
    heap_scores = np.empty(k, dtype=np.float32)
    heap_docs = np.empty(k, dtype=np.int64)
    size = 0
    for i in range(len(values)):
        if values[i] > 0 and (size < k or values[i] > heap_scores[0]):
            size = heap_offer(heap_scores, heap_docs, size, k, values[i], np.int64(i))
    return heap_scores[0] if size == k else np.float32(0.0)


@njit(nogil=True, cache=True)
def _search_one(
    offsets, post_docs, post_values, indptr, terms, values, margin, q_terms, q_weights, k,
    scratch, out_docs, out_scores,
):  # fmt: skip
    """Exact top-k of one query into ``out_docs`` / ``out_scores``; ``scratch``
    (:func:`new_scratch`) is left as found."""
    acc, touched, maxima, q_dense = scratch
    _accumulate(offsets, post_docs, post_values, q_terms, q_weights, acc, touched, q_dense)
    chunk_top = _chunk_maxima(acc, touched, maxima)
    # No document outside a chunk reaching this can be among the candidates rescored below.
    reach = _kth_largest(chunk_top, k) * (np.float32(1.0) - margin)
    heap_scores = np.empty(k, dtype=np.float32)
    heap_docs = np.empty(k, dtype=np.int64)
    size = 0
    for c in range(len(touched)):
        if chunk_top[c] > 0 and chunk_top[c] >= reach:
            for d in range(c << CHUNK_SHIFT, _chunk_end(c, len(acc))):
                if acc[d] > 0 and (size < k or acc[d] > heap_scores[0]):
                    size = heap_offer(heap_scores, heap_docs, size, k, acc[d], np.int64(d))
    cutoff = heap_scores[0] * (np.float32(1.0) - margin) if size == k else np.float32(0.0)
    size = 0
    for c in range(len(touched)):
        if chunk_top[c] > 0 and chunk_top[c] >= cutoff:
            for d in range(c << CHUNK_SHIFT, _chunk_end(c, len(acc))):
                if acc[d] > 0 and acc[d] >= cutoff:
                    score = dot_dense(terms, values, indptr[d], indptr[d + 1], q_dense)
                    size = heap_offer(heap_scores, heap_docs, size, k, score, np.int64(d))
        if touched[c]:
            touched[c] = False
            acc[c << CHUNK_SHIFT : _chunk_end(c, len(acc))] = np.float32(0.0)
    for t in range(len(q_terms)):
        q_dense[q_terms[t]] = np.float32(0.0)
    heap_drain(heap_scores, heap_docs, size, out_scores, out_docs)


@njit(nogil=True, cache=True)
def new_scratch(n_docs, vocab_size):
    """What :func:`_search_one` works in, zeroed: the accumulator, the chunks' touched flags and
    maxima, the dense query."""
    n_chunks = (n_docs + CHUNK - 1) >> CHUNK_SHIFT
    return (
        np.zeros(n_docs, dtype=np.float32),
        np.zeros(n_chunks, dtype=np.bool_),
        np.zeros(n_chunks, dtype=np.int32),
        np.zeros(vocab_size, dtype=np.float32),
    )


@njit(nogil=True, cache=True)
def _search_queries(
    first, step, offsets, post_docs, post_values, indptr, terms, values, margin, q_indptr,
    q_terms, q_weights, k, scratch, out_docs, out_scores,
):  # fmt: skip
    """Queries ``first::step``, one after the other in one set of scratch arrays."""
    for q in range(first, len(q_indptr) - 1, step):
        lo, hi = q_indptr[q], q_indptr[q + 1]
        _search_one(
            offsets, post_docs, post_values, indptr, terms, values, margin, q_terms[lo:hi],
            q_weights[lo:hi], k, scratch, out_docs[q], out_scores[q],
        )  # fmt: skip


@njit(nogil=True, cache=True, parallel=True)
def _search_batch(
    offsets, post_docs, post_values, indptr, terms, values, margin, vocab_size, q_indptr,
    q_terms, q_weights, k, n_chunks,
):  # fmt: skip
    n_queries = len(q_indptr) - 1
    out_docs = np.empty((n_queries, k), dtype=np.int64)
    out_scores = np.empty((n_queries, k), dtype=np.float32)
    for chunk in prange(n_chunks):
        _search_queries(
            chunk, n_chunks, offsets, post_docs, post_values, indptr, terms, values, margin,
            q_indptr, q_terms, q_weights, k, new_scratch(len(indptr) - 1, vocab_size),
            out_docs, out_scores,
        )  # fmt: skip
    return out_docs, out_scores


@njit(nogil=True, cache=True)
def _search_serial(
    offsets, post_docs, post_values, indptr, terms, values, margin, q_indptr, q_terms,
    q_weights, k, scratch,
):  # fmt: skip
    n_queries = len(q_indptr) - 1
    out_docs = np.empty((n_queries, k), dtype=np.int64)
    out_scores = np.empty((n_queries, k), dtype=np.float32)
    _search_queries(
        0, 1, offsets, post_docs, post_values, indptr, terms, values, margin, q_indptr,
        q_terms, q_weights, k, scratch, out_docs, out_scores,
    )  # fmt: skip
    return out_docs, out_scores


@njit(nogil=True, cache=True)
def _search_single(
    offsets, post_docs, post_values, indptr, terms, values, margin, term_ids, weights, k,
    scratch,
):  # fmt: skip
    """One query canonicalized (:func:`index.queries.canonical`) and searched in one compiled
    call: ``(problem, detail, docs, scores)``, the top-k when ``problem`` is 0. A query of a
    small collection takes tens of microseconds here, so each further call out of Python
    would count (as for :func:`index.search.search_single`)."""
    problem, detail, q_terms, q_weights = canonical(term_ids, weights, len(scratch[3]))
    out_docs = np.empty(k, dtype=np.int64)
    out_scores = np.empty(k, dtype=np.float32)
    if problem == 0:
        _search_one(
            offsets, post_docs, post_values, indptr, terms, values, margin, q_terms, q_weights,
            k, scratch, out_docs, out_scores,
        )  # fmt: skip
    return problem, detail, out_docs, out_scores


def inverted_lists(collection: SparseCollection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Term-major (CSC) copy of a collection: ``offsets`` [vocab+1], ``docs`` int32, ``values``.

    Within a list documents keep increasing position (a stable sort of the row-major entries).
    """
    order = np.argsort(collection.indices, kind="stable")
    rows = np.repeat(np.arange(len(collection), dtype=np.int32), collection.lengths())
    counts = np.bincount(collection.indices, minlength=collection.vocab_size)
    offsets = np.zeros(collection.vocab_size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, rows[order], np.ascontiguousarray(collection.values[order], dtype=np.float32)


class ExactIndex:
    """Brute-force top-k by inner product over every posting of every query term."""

    def __init__(self, collection: SparseCollection) -> None:
        self.doc_ids: Sequence[str] = collection.ids
        self.vocab_size = collection.vocab_size
        self.metadata = collection.metadata
        self.offsets, self.post_docs, self.post_values = inverted_lists(collection)
        self.indptr = collection.indptr
        self.terms = collection.indices
        self.values = np.ascontiguousarray(collection.values, dtype=np.float32)
        longest = int(collection.lengths().max(initial=0))
        self.margin = np.float32(2 * (longest + 1) * 2.0**-24)
        self._local = threading.local()
        self._arrays = (
            self.offsets, self.post_docs, self.post_values, self.indptr, self.terms, self.values,
            self.margin,
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.doc_ids)

    def search_batch(self, queries: SparseCollection, k: int = 10) -> SearchResults:
        """Exact top-k of every query, in parallel over queries."""
        k = check_k(k)
        queries = check_batch(queries, self.metadata)
        docs, scores = self._run(queries.indptr, queries.indices, queries.values, k)
        return SearchResults(queries.ids, docs, scores, self.doc_ids)

    def search(
        self, term_ids: np.ndarray, weights: np.ndarray, k: int = 10
    ) -> tuple[list[str], np.ndarray]:
        """Exact top-k of one query: document ids and float32 scores, best first."""
        problem, detail, docs, scores = _search_single(
            *self._arrays, *query_arrays(term_ids, weights), check_k(k), self._scratch()
        )
        if problem:
            check_canonical(problem, detail, self.vocab_size)
        return row_hits(self.doc_ids, docs, scores)

    def _run(self, indptr, terms, weights, k: int) -> tuple[np.ndarray, np.ndarray]:
        n_queries = len(indptr) - 1
        if n_queries == 0 or len(self) == 0:
            return np.full((n_queries, k), -1, np.int64), np.zeros((n_queries, k), np.float32)
        if n_queries == 1 or numba.get_num_threads() == 1:
            return _search_serial(*self._arrays, indptr, terms, weights, k, self._scratch())
        with launch_guard():
            # Scratch arrays per chunk of queries, not per query: zeroing the accumulator and
            # the dense query each time would cost more than a short query's search.
            n_chunks = min(n_queries, 4 * numba.get_num_threads())
            return _search_batch(
                *self._arrays, self.vocab_size, indptr, terms, weights, k, n_chunks
            )

    def _scratch(self) -> tuple[np.ndarray, ...]:
        """This thread's scratch arrays, made on its first search and kept: a single query on a
        small collection takes less time than allocating and zeroing them."""
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = new_scratch(len(self), self.vocab_size)
        return scratch
