"""Exact top-k over a given list of documents, scanning them one by one.

Document-at-a-time: the query is spread into a dense vector once, then every allowed document is
scored with :func:`index.forward.row_dot` (the function Seismic scores with, so scores are
bit-identical to every other searcher's) and offered to the top-k heap (:mod:`index.topk`).
Its cost is the allowed documents' non-zeros, independent of the query's posting lists, which is
what a selective filter or a small segment wants: exact search over 1% of a collection costs
about 1% of a full scan. Documents with a zero score share no term with the query and are not
returned, as no other searcher returns them.
"""

from __future__ import annotations

import numba
import numpy as np
from lsr.index.forward import Forward, row_dot
from lsr.index.parallel import launch_guard
from lsr.index.topk import heap_drain, heap_offer
from numba import njit, prange


@njit(nogil=True, cache=True)
def _scan_one(forward, positions, q_terms, q_weights, k, q_dense, out_docs, out_scores):
    for j in range(len(q_terms)):
        q_dense[q_terms[j]] = q_weights[j]
    heap_scores = np.empty(k, dtype=np.float32)
    heap_docs = np.empty(k, dtype=np.int64)
    size = 0
    for i in range(len(positions)):
        d = positions[i]
        score = row_dot(forward, d, q_dense)
        if score > 0:
            size = heap_offer(heap_scores, heap_docs, size, k, score, np.int64(d))
    heap_drain(heap_scores, heap_docs, size, out_scores, out_docs)
    for j in range(len(q_terms)):
        q_dense[q_terms[j]] = 0.0


@njit(nogil=True, cache=True, parallel=True)
def _scan_batch(forward, positions, queries, k, vocab_size, n_chunks):
    q_indptr, q_terms, q_weights = queries
    n_queries = len(q_indptr) - 1
    out_docs = np.empty((n_queries, k), dtype=np.int64)
    out_scores = np.empty((n_queries, k), dtype=np.float32)
    for chunk in prange(n_chunks):
        q_dense = np.zeros(vocab_size, dtype=np.float32)
        for q in range(chunk, n_queries, n_chunks):
            lo, hi = q_indptr[q], q_indptr[q + 1]
            _scan_one(
                forward, positions, q_terms[lo:hi], q_weights[lo:hi], k, q_dense,
                out_docs[q], out_scores[q],
            )  # fmt: skip
    return out_docs, out_scores


def scan(
    forward: Forward,
    positions: np.ndarray,
    queries: tuple[np.ndarray, np.ndarray, np.ndarray],
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of canonical CSR ``queries`` (``indptr, terms, weights``) among the documents
    at ``positions`` of ``forward`` (its rows as stored, either layout: no copy):
    ``[n_queries, k]`` positions (``-1`` padding) and scores."""
    indptr, terms, weights = queries
    n_queries = len(indptr) - 1
    with launch_guard():
        return _scan_batch(
            forward.kernel_arrays(),
            np.ascontiguousarray(positions, dtype=np.int64),
            (
                np.ascontiguousarray(indptr, dtype=np.int64),
                np.ascontiguousarray(terms, dtype=np.int32),
                np.ascontiguousarray(weights, dtype=np.float32),
            ),
            k,
            forward.vocab_size,
            max(1, min(n_queries, 4 * numba.get_num_threads())),
        )
