"""Seismic query processing (SIGIR 2024, Algorithm 2; reference: ``InvertedIndex::search`` and
``PostingList::search`` in ``inverted_index.rs``).

For one query:

1. the ``query_cut`` largest query entries select the posting lists to visit, heaviest first;
2. for each list, the full query scores all of the list's block summaries in one pass
   (:func:`index.summary.score_summaries`);
3. a block is skipped when the heap already holds k documents and its summary score is below
   ``heap_factor`` times the smallest score in the heap, *exactly* the reference's test
   ``dot < heap_factor * heap.peek()``; otherwise its documents not scored yet are scored
   exactly against the forward index and offered to the heap;
4. with ``first_sorted``, the first list's blocks are visited by decreasing summary score, which
   fills the heap with good documents early and makes later skipping more effective;
5. with ``n_knn > 0`` (CIKM 2024), the neighbours in the kNN graph of every result are scored too.

Documents are scored by the full query (not only its ``query_cut`` entries), so every score
returned is the document's exact inner product with the query.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from index.forward import dot_dense
from index.summary import score_summaries
from index.topk import heap_drain, heap_offer


@njit(nogil=True, cache=True, inline="always")
def _visit(
    d, indptr, terms, values, table, q_dense, visited, visited_list, n_visited, k,
    heap_scores, heap_docs, size,
):  # fmt: skip
    """Score document ``d`` exactly and offer it to the heap, unless this query scored it already."""
    if visited[d]:
        return n_visited, size
    visited[d] = True
    visited_list[n_visited] = d
    score = dot_dense(terms, values, table, indptr[d], indptr[d + 1], q_dense)
    return n_visited + 1, heap_offer(heap_scores, heap_docs, size, k, score, np.int64(d))


@njit(nogil=True, cache=True)
def _score_block(
    p0, p1, post_docs, indptr, terms, values, table, q_dense, visited, visited_list, n_visited,
    k, heap_scores, heap_docs, size,
):  # fmt: skip
    for p in range(p0, p1):
        n_visited, size = _visit(
            post_docs[p], indptr, terms, values, table, q_dense, visited, visited_list,
            n_visited, k, heap_scores, heap_docs, size,
        )  # fmt: skip
    return n_visited, size


@njit(nogil=True, cache=True)
def _expand_knn(
    knn, n_knn, indptr, terms, values, table, q_dense, visited, visited_list, n_visited, k,
    heap_scores, heap_docs, size,
):  # fmt: skip
    """Score the graph neighbours of every current result, best result first."""
    snapshot_scores = heap_scores[:size].copy()
    snapshot_docs = heap_docs[:size].copy()
    results = np.empty(size, dtype=np.int64)
    ignored = np.empty(size, dtype=np.float32)
    heap_drain(snapshot_scores, snapshot_docs, size, ignored, results)
    for r in range(len(results)):
        for j in range(min(n_knn, knn.shape[1])):
            d = knn[results[r], j]
            if d >= 0:
                n_visited, size = _visit(
                    d, indptr, terms, values, table, q_dense, visited, visited_list, n_visited,
                    k, heap_scores, heap_docs, size,
                )  # fmt: skip
    return n_visited, size


@njit(nogil=True, cache=True)
def search_one(
    indptr, terms, values, table,
    list_block_ptr, block_ptr, post_docs,
    list_comp_ptr, comp_terms, comp_entry_ptr, entry_block, entry_code, block_min, block_scale,
    knn, q_terms, q_weights, k, query_cut, heap_factor, first_sorted, n_knn,
    q_dense, visited, visited_list, block_scores, out_docs, out_scores,
):  # fmt: skip
    """Top-k of one query into ``out_docs`` / ``out_scores``.

    Scratch (owned by the caller, reused across queries): ``q_dense`` vocabulary-sized zeros,
    ``visited`` document-sized False, ``visited_list`` document-sized, ``block_scores`` as long
    as the largest number of blocks of a list. All are left as found.
    """
    for j in range(len(q_terms)):
        q_dense[q_terms[j]] = q_weights[j]
    heap_scores = np.empty(k, dtype=np.float32)
    heap_docs = np.empty(k, dtype=np.int64)
    size = 0
    n_visited = 0
    threshold = np.float32(heap_factor)
    # Heaviest entries first; a stable sort breaks ties by lower term id.
    heaviest = np.argsort(-q_weights, kind="mergesort")[:query_cut]
    for rank in range(len(heaviest)):
        t = q_terms[heaviest[rank]]
        b0, b1 = list_block_ptr[t], list_block_ptr[t + 1]
        if b0 == b1:
            continue
        scores = block_scores[: b1 - b0]
        score_summaries(
            b0, b1, list_comp_ptr[t], list_comp_ptr[t + 1], comp_terms, comp_entry_ptr,
            entry_block, entry_code, block_min, block_scale, q_terms, q_weights, scores,
        )  # fmt: skip
        if first_sorted and rank == 0:
            order = np.argsort(-scores, kind="mergesort")
        else:
            order = np.arange(b1 - b0)
        for i in range(b1 - b0):
            b = order[i]
            if size == k and scores[b] < threshold * heap_scores[0]:
                continue
            n_visited, size = _score_block(
                block_ptr[b0 + b], block_ptr[b0 + b + 1], post_docs, indptr, terms, values,
                table, q_dense, visited, visited_list, n_visited, k, heap_scores, heap_docs, size,
            )  # fmt: skip
    if n_knn > 0 and knn.shape[1] > 0:
        n_visited, size = _expand_knn(
            knn, n_knn, indptr, terms, values, table, q_dense, visited, visited_list, n_visited,
            k, heap_scores, heap_docs, size,
        )  # fmt: skip
    heap_drain(heap_scores, heap_docs, size, out_scores, out_docs)
    for i in range(n_visited):
        visited[visited_list[i]] = False
    for j in range(len(q_terms)):
        q_dense[q_terms[j]] = 0.0
    return n_visited


@njit(nogil=True, cache=True)
def _search_chunk(
    chunk, n_chunks, indptr, terms, values, table,
    list_block_ptr, block_ptr, post_docs,
    list_comp_ptr, comp_terms, comp_entry_ptr, entry_block, entry_code, block_min, block_scale,
    knn, q_indptr, q_terms, q_weights, k, query_cut, heap_factor, first_sorted, n_knn,
    vocab_size, max_blocks, out_docs, out_scores, scored,
):  # fmt: skip
    """Queries ``chunk::n_chunks`` of the batch, with one set of scratch arrays."""
    n_docs = len(indptr) - 1
    q_dense = np.zeros(vocab_size, dtype=np.float32)
    visited = np.zeros(n_docs, dtype=np.bool_)
    visited_list = np.empty(n_docs, dtype=np.int32)
    block_scores = np.empty(max_blocks, dtype=np.float32)
    for q in range(chunk, len(q_indptr) - 1, n_chunks):
        lo, hi = q_indptr[q], q_indptr[q + 1]
        scored[q] = search_one(
            indptr, terms, values, table, list_block_ptr, block_ptr, post_docs,
            list_comp_ptr, comp_terms, comp_entry_ptr, entry_block, entry_code, block_min,
            block_scale, knn, q_terms[lo:hi], q_weights[lo:hi], k, query_cut, heap_factor,
            first_sorted, n_knn, q_dense, visited, visited_list, block_scores, out_docs[q],
            out_scores[q],
        )  # fmt: skip


@njit(nogil=True, cache=True, inline="always")
def _result_arrays(n_queries, k):
    """Top-k documents and scores of every query, and how many documents each one scored."""
    out_docs = np.empty((n_queries, k), dtype=np.int64)
    out_scores = np.empty((n_queries, k), dtype=np.float32)
    return out_docs, out_scores, np.zeros(n_queries, dtype=np.int64)


@njit(nogil=True, cache=True, parallel=True)
def search_batch(
    indptr, terms, values, table,
    list_block_ptr, block_ptr, post_docs,
    list_comp_ptr, comp_terms, comp_entry_ptr, entry_block, entry_code, block_min, block_scale,
    knn, q_indptr, q_terms, q_weights, k, query_cut, heap_factor, first_sorted, n_knn,
    vocab_size, max_blocks, n_chunks,
):  # fmt: skip
    """Top-k of every query, in parallel over ``n_chunks`` chunks of queries (scratch arrays
    allocated per chunk). Returns the result matrices and the documents scored per query."""
    out_docs, out_scores, scored = _result_arrays(len(q_indptr) - 1, k)
    for chunk in prange(n_chunks):
        _search_chunk(
            chunk, n_chunks, indptr, terms, values, table, list_block_ptr, block_ptr, post_docs,
            list_comp_ptr, comp_terms, comp_entry_ptr, entry_block, entry_code, block_min,
            block_scale, knn, q_indptr, q_terms, q_weights, k, query_cut, heap_factor,
            first_sorted, n_knn, vocab_size, max_blocks, out_docs, out_scores, scored,
        )  # fmt: skip
    return out_docs, out_scores, scored


@njit(nogil=True, cache=True)
def search_serial(
    indptr, terms, values, table,
    list_block_ptr, block_ptr, post_docs,
    list_comp_ptr, comp_terms, comp_entry_ptr, entry_block, entry_code, block_min, block_scale,
    knn, q_indptr, q_terms, q_weights, k, query_cut, heap_factor, first_sorted, n_knn,
    vocab_size, max_blocks, n_chunks,
):  # fmt: skip
    """:func:`search_batch` on the calling thread: no parallel launch for a single query or a
    single thread (``n_chunks`` is ignored; it keeps the signatures interchangeable)."""
    out_docs, out_scores, scored = _result_arrays(len(q_indptr) - 1, k)
    _search_chunk(
        0, 1, indptr, terms, values, table, list_block_ptr, block_ptr, post_docs,
        list_comp_ptr, comp_terms, comp_entry_ptr, entry_block, entry_code, block_min,
        block_scale, knn, q_indptr, q_terms, q_weights, k, query_cut, heap_factor,
        first_sorted, n_knn, vocab_size, max_blocks, out_docs, out_scores, scored,
    )  # fmt: skip
    return out_docs, out_scores, scored
