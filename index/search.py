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
   with ``global_order`` (ours, :mod:`index.block_order`) the blocks of *all* the lists are
   visited by decreasing summary score, and the first block skipped ends the query;
5. with ``n_knn > 0`` (CIKM 2024), the neighbours in the kNN graph of every result are scored too;
6. searchers of disjoint parts of a collection (the shards of a sharded index) may share their
   heaps' scores (:mod:`index.shared_bound`): a block is then skipped against the k-th best score
   any of them holds, when that is higher than the own heap's smallest.

Documents can be *excluded* (deleted documents of a segment, those a filter disallows): their bits
start set in the visited flags, so the block loop skips them as if already scored and a search
returns the k best of the others (pre-filtering, not a post-filter of the top-k).

Documents are scored by the full query (not only its ``query_cut`` entries), so every score
returned is the document's exact inner product with the query.
"""

from __future__ import annotations

import numpy as np
from lsr.index.block_order import ordered_blocks, pop_best
from lsr.index.forward import row_dot, row_prefetch
from lsr.index.queries import canonical
from lsr.index.shared_bound import NO_BOUND, publish, refresh
from lsr.index.summary import score_summaries
from lsr.index.topk import heap_drain, heap_offer, heap_worse
from numba import njit, prange, types
from numba.experimental import structref


@njit(nogil=True, cache=True, inline="always")
def _is_set(bits, d):
    return (bits[d >> 6] >> np.uint64(d & 63)) & np.uint64(1)


@njit(nogil=True, cache=True, inline="always")
def _set(bits, d):
    bits[d >> 6] |= np.uint64(1) << np.uint64(d & 63)


@njit(nogil=True, cache=True)
def heaviest(weights, n):
    """Positions of the ``n`` (>= 0) largest ``weights``, largest first, ties by lower position:
    ``np.argsort(-weights, kind="mergesort")[:n]`` for finite weights (a query's, validated).

    Kept by insertion into a sorted prefix of at most ``n`` (``O(len(weights) n)``, most
    weights refused by one comparison with the lightest kept) instead of sorting all: the
    sort and its copies took ~1.8 us of every SciFact query (53 terms a query, query_cut 5),
    this ~0.3."""
    m = min(n, len(weights))
    out = np.empty(m, dtype=np.int64)
    size = 0
    for j in range(len(weights)):
        w = weights[j]
        if size < m:
            i = size
            size += 1
        elif m > 0 and w > weights[out[m - 1]]:
            i = m - 1  # the lightest kept makes way
        else:
            continue
        while i > 0 and w > weights[out[i - 1]]:
            out[i] = out[i - 1]
            i -= 1
        out[i] = j
    return out


@njit(nogil=True, cache=True)
def _score_docs(
    docs, p0, p1, forward, q_dense, visited, visited_list, n_visited, k, heap_scores, heap_docs,
    size,
):  # fmt: skip
    """Score documents ``docs[p0:p1]`` that this query has not scored yet exactly and offer them
    to the heap (negative positions, the kNN graph's padding, are skipped).

    The visit of one document is written out here, not called: through a helper (inlined by
    Numba, or not) every document paid about a dozen reference-count updates of the arrays
    the helper took, each a call and an atomic instruction, which refcount pruning left in
    place. On the Intel Xeon of session 8 that was ~140 cycles a document: the query took 0.77x
    the time once gone (SciFact qc 8 hf 0.8, ``reports/index-intel-where-s8.md``). Slicing a
    row costs the same way (:func:`index.forward.dot_shifted`)."""
    # Prefetch every document not scored yet before scoring any (as the reference does), so the
    # block's memory loads overlap instead of following one another.
    for p in range(p0, p1):
        d = docs[p]
        if d >= 0 and not _is_set(visited, d):
            row_prefetch(forward, d)
    for p in range(p0, p1):
        d = docs[p]
        if d < 0 or _is_set(visited, d):
            continue
        _set(visited, d)
        visited_list[n_visited] = d
        n_visited += 1
        score = row_dot(forward, d, q_dense)
        # Most documents are refused here, without a call.
        if size < k or not heap_worse(score, np.int64(d), heap_scores[0], heap_docs[0]):
            size = heap_offer(heap_scores, heap_docs, size, k, score, np.int64(d))
    return n_visited, size


@njit(nogil=True, cache=True)
def _expand_knn(
    knn, n_knn, forward, q_dense, visited, visited_list, n_visited, k, heap_scores, heap_docs,
    size,
):  # fmt: skip
    """Score the graph neighbours of every current result, best result first."""
    snapshot_scores = heap_scores[:size].copy()
    snapshot_docs = heap_docs[:size].copy()
    results = np.empty(size, dtype=np.int64)
    ignored = np.empty(size, dtype=np.float32)
    heap_drain(snapshot_scores, snapshot_docs, size, ignored, results)
    for r in range(len(results)):
        n_visited, size = _score_docs(
            knn[results[r]], 0, min(n_knn, knn.shape[1]), forward, q_dense, visited,
            visited_list, n_visited, k, heap_scores, heap_docs, size,
        )  # fmt: skip
    return n_visited, size


@njit(nogil=True, cache=True)
def search_one(
    forward, blocks, summaries, knn, q_terms, q_weights, k, query_cut, heap_factor,
    first_sorted, global_order, n_knn, scratch, out_docs, out_scores, shared, slot,
):  # fmt: skip
    """Top-k of one query into ``out_docs`` / ``out_scores``; returns how many documents it scored.

    ``forward`` is :meth:`~index.forward.ForwardIndex.search_arrays` (either layout),
    ``blocks`` ``(list_block_ptr, block_ptr, post_docs)``, ``summaries``
    :meth:`~index.summary.Summaries.kernel_arrays`. ``scratch`` (from
    :func:`new_scratch`, owned by the caller and reused across queries) is left as found.
    ``shared`` is this query's row of :func:`index.shared_bound.new_shared`, this searcher
    publishing as ``slot`` (no searcher: skip against the own heap only). With
    ``global_order`` the blocks of all the lists are visited best first
    (:mod:`index.block_order`) and ``first_sorted`` has no effect.
    """
    list_block_ptr, block_ptr, post_docs = blocks
    q_dense, visited, visited_list, block_scores, excluded = scratch
    for j in range(len(q_terms)):
        q_dense[q_terms[j]] = q_weights[j]
    heap_scores = np.empty(k, dtype=np.float32)
    heap_docs = np.empty(k, dtype=np.int64)
    size = 0
    n_visited = 0
    threshold = np.float32(heap_factor)
    sharing = shared.shape[0] > 0
    bound, seen = NO_BOUND, np.float64(-1.0)
    top = np.empty(k if sharing else 0, dtype=np.float32)
    # Heaviest entries first, ties by lower term id.
    lists = heaviest(q_weights, query_cut)
    # Each order tests its blocks in its own loop, inline: through one shared helper the list
    # order measured 10-17% slower on SciFact (06:43 UTC, 3 interleaved pairs of processes).
    if global_order:
        all_blocks, all_scores, keys = ordered_blocks(
            summaries, list_block_ptr, q_terms, q_weights, lists
        )
        remaining = len(keys)
        while remaining > 0:
            place, remaining = pop_best(keys, remaining)
            if sharing:
                bound, seen = refresh(shared, k, bound, seen, top)
            floor = max(heap_scores[0], bound) if size == k else bound
            if floor > NO_BOUND and all_scores[place] < threshold * floor:
                break  # the threshold only rises and every later block scores at most this
            b = all_blocks[place]
            before = size, heap_scores[0]
            n_visited, size = _score_docs(
                post_docs, block_ptr[b], block_ptr[b + 1], forward, q_dense, visited,
                visited_list, n_visited, k, heap_scores, heap_docs, size,
            )  # fmt: skip
            if sharing and (size, heap_scores[0]) != before:
                publish(shared, slot, heap_scores, size, k, top)
    else:
        unsorted = np.empty(0, dtype=np.int64)
        for rank in range(len(lists)):
            t = q_terms[lists[rank]]
            b0, b1 = list_block_ptr[t], list_block_ptr[t + 1]
            if b0 == b1:
                continue
            scores = block_scores[: b1 - b0]
            score_summaries(summaries, t, b0, b1, q_terms, q_weights, scores)
            # Only the first list may be visited by score; the others in block order, without
            # an index array of their own.
            by_score = first_sorted and rank == 0
            order = np.argsort(-scores, kind="mergesort") if by_score else unsorted
            for i in range(b1 - b0):
                b = order[i] if by_score else i
                if sharing:
                    bound, seen = refresh(shared, k, bound, seen, top)
                floor = max(heap_scores[0], bound) if size == k else bound
                if floor > NO_BOUND and scores[b] < threshold * floor:
                    continue
                before = size, heap_scores[0]
                n_visited, size = _score_docs(
                    post_docs, block_ptr[b0 + b], block_ptr[b0 + b + 1], forward, q_dense,
                    visited, visited_list, n_visited, k, heap_scores, heap_docs, size,
                )  # fmt: skip
                if sharing and (size, heap_scores[0]) != before:
                    publish(shared, slot, heap_scores, size, k, top)
    if n_knn > 0 and knn.shape[1] > 0:
        n_visited, size = _expand_knn(
            knn, n_knn, forward, q_dense, visited, visited_list, n_visited, k, heap_scores,
            heap_docs, size,
        )  # fmt: skip
    if sharing:
        publish(shared, slot, heap_scores, size, k, top)
    heap_drain(heap_scores, heap_docs, size, out_scores, out_docs)
    for i in range(n_visited):
        word = visited_list[i] >> 6
        visited[word] = excluded[word]
    for j in range(len(q_terms)):
        q_dense[q_terms[j]] = 0.0
    return n_visited


@njit(nogil=True, cache=True)
def _search_queries(
    first, step, forward, blocks, summaries, knn, queries, k, query_cut, heap_factor,
    first_sorted, global_order, n_knn, scratch, out_docs, out_scores, scored, shared, slot,
):  # fmt: skip
    """Queries ``first::step`` of ``queries`` (``(indptr, terms, weights)``), one after the
    other with one set of scratch arrays."""
    q_indptr, q_terms, q_weights = queries
    for q in range(first, len(q_indptr) - 1, step):
        lo, hi = q_indptr[q], q_indptr[q + 1]
        scored[q] = search_one(
            forward, blocks, summaries, knn, q_terms[lo:hi], q_weights[lo:hi], k, query_cut,
            heap_factor, first_sorted, global_order, n_knn, scratch, out_docs[q], out_scores[q], shared[q],
            slot,
        )  # fmt: skip


@structref.register
class SearcherType(types.StructRef):
    """Numba's type of a :class:`Searcher` (one per combination of its arrays' types)."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class Searcher(structref.StructRefProxy):
    """What :func:`search_single` reads besides the query, in one object: the index's arrays
    as :func:`search_one` takes them (``forward``, ``blocks``, ``summaries``, ``knn``), its
    ``vocab_size``, and one thread's ``scratch`` (:func:`new_scratch`). Make it with
    :func:`new_searcher`; a thread keeps its own and reuses it query after query.

    A compiled call unboxes each array it is given (a type look-up, a reference and a
    memory-info record each): the 28 arrays of a single search took 2.4 µs to dispatch to a
    kernel that did nothing with them, 1.4 µs packed in one object like this
    (``reports/index-single-s9.md``), out of a search of 80-180 µs on small collections."""


structref.define_proxy(
    Searcher, SearcherType, ["forward", "blocks", "summaries", "knn", "vocab_size", "scratch"]
)


@njit(nogil=True, cache=True)
def new_searcher(forward, blocks, summaries, knn, vocab_size, scratch):
    """A :class:`Searcher` (made by a cached kernel: :class:`Searcher`'s own constructor
    compiles anew in every process)."""
    return Searcher(forward, blocks, summaries, knn, vocab_size, scratch)


@njit(nogil=True, cache=True)
def search_single(
    searcher, term_ids, weights, k, query_cut, heap_factor, first_sorted, global_order, n_knn,
    shared, slot,
):  # fmt: skip
    """One query, canonicalized (:func:`index.queries.canonical`) and searched in one compiled
    call over a :class:`Searcher`: ``(problem, detail, docs, scores)``, the top-k when
    ``problem`` is 0. ``shared`` / ``slot``: the query's row of
    :func:`index.shared_bound.new_shared` and this searcher's place in it, as for
    :func:`search_one` (alone: :data:`index.shared_bound.NO_SEARCHERS`).

    A single query's own work is ~200 us on SciFact, so what Python does around it counts
    several times over: each call out of the kernel costs its dispatch and boxing, and the
    interpreter's work between kernels evicts what they keep in the caches and branch
    predictors (one more compiled call measured ~9 us where it alone takes ~2.3)."""
    problem, detail, terms, values = canonical(term_ids, weights, searcher.vocab_size)
    out_docs = np.empty(k, dtype=np.int64)
    out_scores = np.empty(k, dtype=np.float32)
    if problem == 0:
        search_one(
            searcher.forward, searcher.blocks, searcher.summaries, searcher.knn, terms, values,
            k, query_cut, heap_factor, first_sorted, global_order, n_knn, searcher.scratch,
            out_docs, out_scores, shared, slot,
        )  # fmt: skip
    return problem, detail, out_docs, out_scores


@njit(nogil=True, cache=True)
def new_scratch(vocab_size, n_docs, max_blocks, excluded):
    """The scratch arrays :func:`search_one` expects, in the state it expects them: the dense
    query, the visited flags and list, the block scores of one list, and ``excluded`` (a bitset
    of documents never to score, :mod:`index.bitset`), which the visited flags start from and
    are reset to after each query."""
    return (
        np.zeros(vocab_size, dtype=np.float32),
        # One bit per document: 1M documents take 128 KiB, which stays in cache.
        excluded.copy(),
        np.empty(n_docs, dtype=np.int32),
        np.empty(max(max_blocks, 1), dtype=np.float32),
        excluded,
    )


@njit(nogil=True, cache=True, inline="always")
def _result_arrays(n_queries, k):
    """Top-k documents and scores of every query, and how many documents each one scored."""
    out_docs = np.empty((n_queries, k), dtype=np.int64)
    out_scores = np.empty((n_queries, k), dtype=np.float32)
    return out_docs, out_scores, np.zeros(n_queries, dtype=np.int64)


@njit(nogil=True, cache=True, parallel=True)
def search_batch(
    forward, blocks, summaries, knn, queries, k, query_cut, heap_factor, first_sorted, global_order, n_knn,
    vocab_size, max_blocks, n_chunks, excluded, shared, slot,
):  # fmt: skip
    """Top-k of every query, in parallel over ``n_chunks`` interleaved chunks of queries, each
    with scratch arrays of its own; documents in the bitset ``excluded`` are never scored;
    ``shared`` / ``slot`` as for :func:`search_one` (a row per query).
    Returns the result matrices and the documents scored per query."""
    out_docs, out_scores, scored = _result_arrays(len(queries[0]) - 1, k)
    n_docs = len(forward[0]) - 1
    for chunk in prange(n_chunks):
        scratch = new_scratch(vocab_size, n_docs, max_blocks, excluded)
        _search_queries(
            chunk, n_chunks, forward, blocks, summaries, knn, queries, k, query_cut,
            heap_factor, first_sorted, global_order, n_knn, scratch, out_docs, out_scores, scored, shared,
            slot,
        )  # fmt: skip
    return out_docs, out_scores, scored


@njit(nogil=True, cache=True)
def search_serial(
    forward, blocks, summaries, knn, queries, k, query_cut, heap_factor, first_sorted, global_order, n_knn,
    scratch, shared, slot,
):  # fmt: skip
    """:func:`search_batch` on the calling thread with the caller's scratch arrays (from
    :func:`new_scratch`): a single query then allocates nothing the size of the collection."""
    out_docs, out_scores, scored = _result_arrays(len(queries[0]) - 1, k)
    _search_queries(
        0, 1, forward, blocks, summaries, knn, queries, k, query_cut, heap_factor,
        first_sorted, global_order, n_knn, scratch, out_docs, out_scores, scored, shared, slot,
    )  # fmt: skip
    return out_docs, out_scores, scored
