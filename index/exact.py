"""Exact top-k retrieval by inner product: the ground truth every approximate search is measured by.

Term-at-a-time over a full (unpruned) inverted index: for each query term, walk its whole posting
list and add ``q_t * d_t`` into a dense float32 accumulator; the k best touched documents are
kept in a heap (:mod:`index.topk`).

Scores are then made *canonical*: every candidate whose accumulated score is within the float32
rounding margin of the k-th best is rescored with :func:`index.forward.dot_dense`, the function
Seismic scores documents with, and the top-k is taken over those scores. Float addition is not
associative, so the two summation orders may differ in the last bits; since all products are
non-negative, each sum is within ``n * 2**-24`` (relative) of the true value for a document of
``n`` terms, so no document outside the margin ``2 * (max_nnz + 1) * 2**-24`` can enter the
top-k. Exact and Seismic scores of a document are therefore bit-identical.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
from lsr.index.forward import dot_dense
from lsr.index.parallel import launch_guard
from lsr.index.queries import check_batch, check_k, single_query
from lsr.index.results import SearchResults, row_hits
from lsr.index.topk import heap_drain, heap_offer
from numba import njit, prange

from lsr.vectors import SparseCollection


@njit(nogil=True, cache=True)
def _search_one(
    offsets, post_docs, post_values, indptr, terms, values, margin, q_terms, q_weights, k,
    acc, seen, touched, q_dense, out_docs, out_scores,
):  # fmt: skip
    n_touched = 0
    for t in range(len(q_terms)):
        term = q_terms[t]
        weight = q_weights[t]
        q_dense[term] = weight
        for p in range(offsets[term], offsets[term + 1]):
            doc = post_docs[p]
            if not seen[doc]:
                seen[doc] = True
                touched[n_touched] = doc
                n_touched += 1
            acc[doc] += weight * post_values[p]
    heap_scores = np.empty(k, dtype=np.float32)
    heap_docs = np.empty(k, dtype=np.int64)
    size = 0
    for i in range(n_touched):
        size = heap_offer(heap_scores, heap_docs, size, k, acc[touched[i]], np.int64(touched[i]))
    cutoff = heap_scores[0] * (np.float32(1.0) - margin) if size == k else np.float32(-1.0)
    size = 0
    for i in range(n_touched):
        doc = touched[i]
        if acc[doc] >= cutoff:
            score = dot_dense(terms, values, indptr[doc], indptr[doc + 1], q_dense)
            size = heap_offer(heap_scores, heap_docs, size, k, score, np.int64(doc))
        acc[doc] = np.float32(0.0)
        seen[doc] = False
    for t in range(len(q_terms)):
        q_dense[q_terms[t]] = np.float32(0.0)
    heap_drain(heap_scores, heap_docs, size, out_scores, out_docs)


@njit(nogil=True, cache=True, parallel=True)
def _search_batch(
    offsets, post_docs, post_values, indptr, terms, values, margin, vocab_size, q_indptr,
    q_terms, q_weights, k, n_chunks,
):  # fmt: skip
    n_docs = len(indptr) - 1
    n_queries = len(q_indptr) - 1
    out_docs = np.empty((n_queries, k), dtype=np.int64)
    out_scores = np.empty((n_queries, k), dtype=np.float32)
    for chunk in prange(n_chunks):
        acc = np.zeros(n_docs, dtype=np.float32)
        seen = np.zeros(n_docs, dtype=np.bool_)
        touched = np.empty(n_docs, dtype=np.int32)
        q_dense = np.zeros(vocab_size, dtype=np.float32)
        for q in range(chunk, n_queries, n_chunks):
            lo, hi = q_indptr[q], q_indptr[q + 1]
            _search_one(
                offsets, post_docs, post_values, indptr, terms, values, margin, q_terms[lo:hi],
                q_weights[lo:hi], k, acc, seen, touched, q_dense, out_docs[q], out_scores[q],
            )  # fmt: skip
    return out_docs, out_scores


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
        docs, scores = self._run(*single_query(term_ids, weights, self.vocab_size), check_k(k))
        return row_hits(self.doc_ids, docs[0], scores[0])

    def _run(self, indptr, terms, weights, k: int) -> tuple[np.ndarray, np.ndarray]:
        n_queries = len(indptr) - 1
        if n_queries == 0 or len(self) == 0:
            return np.full((n_queries, k), -1, np.int64), np.zeros((n_queries, k), np.float32)
        with launch_guard():
            return _search_batch(
                self.offsets,
                self.post_docs,
                self.post_values,
                self.indptr,
                self.terms,
                self.values,
                self.margin,
                self.vocab_size,
                indptr,
                terms,
                weights,
                k,
                # One accumulator per chunk of queries, not per query: zeroing n_docs floats per
                # query would cost more than a short query's search.
                min(n_queries, 4 * numba.get_num_threads()),
            )
