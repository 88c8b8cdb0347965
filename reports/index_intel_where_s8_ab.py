"""Scratch A/B: product search_one against copies that differ in one thing each (SciFact, list order).

old_search.py beside it (in reports/, not committed) is c26bd46's search.py, uncached:
git show c26bd46:index/search.py | sed 's/cache=True/cache=False/' > old_search.py
Run from the worktree root: python reports/index_intel_where_s8_ab.py QUERY_CUT HEAP_FACTOR ROUNDS [VARIANTS, comma-separated]."""

import sys

import numba
import numpy as np

numba.set_num_threads(1)
sys.path.insert(0, __import__("os").path.dirname(__file__))
from index_intel_where_s8_phase_cycles import cycles
from lsr.index.forward import row_dot, row_prefetch
from lsr.index.search import _is_set, _set, new_scratch, search_one
from lsr.index.seismic import SeismicIndex
from lsr.index.shared_bound import NO_BOUND, unshared
from lsr.index.summary import score_summaries
from lsr.index.topk import heap_drain, heap_offer, heap_worse
from numba import njit
from old_search import _score_block, _visit
from old_search import search_one as old_search_one

from lsr.vector_io import read_vectors


@njit(nogil=True, inline="always")
def visit_single_exit(
    d, forward, q_dense, visited, visited_list, n_visited, k, heap_scores, heap_docs, size
):
    if not _is_set(visited, d):
        _set(visited, d)
        visited_list[n_visited] = d
        n_visited += 1
        score = row_dot(forward, d, q_dense)
        if not (size == k and heap_worse(score, np.int64(d), heap_scores[0], heap_docs[0])):
            size = heap_offer(heap_scores, heap_docs, size, k, score, np.int64(d))
    return n_visited, size


@njit(nogil=True)
def block_inline_body(
    p0,
    p1,
    post_docs,
    forward,
    q_dense,
    visited,
    visited_list,
    n_visited,
    k,
    heap_scores,
    heap_docs,
    size,
):
    for p in range(p0, p1):
        d = post_docs[p]
        if not _is_set(visited, d):
            row_prefetch(forward, d)
    for p in range(p0, p1):
        d = post_docs[p]
        if _is_set(visited, d):
            continue
        _set(visited, d)
        visited_list[n_visited] = d
        n_visited += 1
        score = row_dot(forward, d, q_dense)
        if not (size == k and heap_worse(score, np.int64(d), heap_scores[0], heap_docs[0])):
            size = heap_offer(heap_scores, heap_docs, size, k, score, np.int64(d))
    return n_visited, size


from lsr.index.prefetch import prefetch_at


@njit(nogil=True, inline="always")
def row_head_prefetch(forward, d, lines):
    indptr, rows = forward
    at, end = 2 * indptr[d], 2 * indptr[d + 1]
    for i in range(lines):
        p = at + 32 * i
        if p < end:
            prefetch_at(rows, p)


def make_block_prefetch(lines):
    @njit(nogil=True)
    def block(
        p0,
        p1,
        post_docs,
        forward,
        q_dense,
        visited,
        visited_list,
        n_visited,
        k,
        heap_scores,
        heap_docs,
        size,
    ):
        if lines > 0:
            for p in range(p0, p1):
                d = post_docs[p]
                if not _is_set(visited, d):
                    row_head_prefetch(forward, d, lines)
        for p in range(p0, p1):
            d = post_docs[p]
            if _is_set(visited, d):
                continue
            _set(visited, d)
            visited_list[n_visited] = d
            n_visited += 1
            score = row_dot(forward, d, q_dense)
            if not (size == k and heap_worse(score, np.int64(d), heap_scores[0], heap_docs[0])):
                size = heap_offer(heap_scores, heap_docs, size, k, score, np.int64(d))
        return n_visited, size

    return block


block_pf0 = make_block_prefetch(0)
block_pf1 = make_block_prefetch(1)
block_pf2 = make_block_prefetch(2)
block_pf4 = make_block_prefetch(4)


@njit(nogil=True)
def visit_call(
    d, forward, q_dense, visited, visited_list, n_visited, k, heap_scores, heap_docs, size
):
    if _is_set(visited, d):
        return n_visited, size
    _set(visited, d)
    visited_list[n_visited] = d
    score = row_dot(forward, d, q_dense)
    if size == k and heap_worse(score, np.int64(d), heap_scores[0], heap_docs[0]):
        return n_visited + 1, size
    return n_visited + 1, heap_offer(heap_scores, heap_docs, size, k, score, np.int64(d))


@njit(nogil=True)
def block_visit_call(
    p0,
    p1,
    post_docs,
    forward,
    q_dense,
    visited,
    visited_list,
    n_visited,
    k,
    heap_scores,
    heap_docs,
    size,
):
    for p in range(p0, p1):
        d = post_docs[p]
        if not _is_set(visited, d):
            row_prefetch(forward, d)
    for p in range(p0, p1):
        n_visited, size = visit_call(
            post_docs[p],
            forward,
            q_dense,
            visited,
            visited_list,
            n_visited,
            k,
            heap_scores,
            heap_docs,
            size,
        )
    return n_visited, size


@njit(nogil=True)
def block_single_exit(
    p0,
    p1,
    post_docs,
    forward,
    q_dense,
    visited,
    visited_list,
    n_visited,
    k,
    heap_scores,
    heap_docs,
    size,
):
    for p in range(p0, p1):
        d = post_docs[p]
        if not _is_set(visited, d):
            row_prefetch(forward, d)
    for p in range(p0, p1):
        n_visited, size = visit_single_exit(
            post_docs[p],
            forward,
            q_dense,
            visited,
            visited_list,
            n_visited,
            k,
            heap_scores,
            heap_docs,
            size,
        )
    return n_visited, size


def make(variant):
    @njit(nogil=True)
    def one(
        forward,
        blocks,
        summaries,
        q_terms,
        q_weights,
        k,
        query_cut,
        heap_factor,
        scratch,
        out_docs,
        out_scores,
    ):
        list_block_ptr, block_ptr, post_docs = blocks
        q_dense, visited, visited_list, block_scores, excluded = scratch
        for j in range(len(q_terms)):
            q_dense[q_terms[j]] = q_weights[j]
        heap_scores = np.empty(k, dtype=np.float32)
        heap_docs = np.empty(k, dtype=np.int64)
        size = 0
        n_visited = 0
        threshold = np.float32(heap_factor)
        heaviest = np.argsort(-q_weights, kind="mergesort")[:query_cut]
        bound = NO_BOUND
        for rank in range(len(heaviest)):
            t = q_terms[heaviest[rank]]
            b0, b1 = list_block_ptr[t], list_block_ptr[t + 1]
            if b0 == b1:
                continue
            scores = block_scores[: b1 - b0]
            score_summaries(summaries, t, b0, b1, q_terms, q_weights, scores)
            for i in range(b1 - b0):
                if variant == 2:
                    floor = max(heap_scores[0], bound) if size == k else bound
                    if floor > NO_BOUND and scores[i] < threshold * floor:
                        continue
                else:
                    if size == k and scores[i] < threshold * heap_scores[0]:
                        continue
                p0, p1 = block_ptr[b0 + i], block_ptr[b0 + i + 1]
                if variant == 1 or variant == 2:
                    n_visited, size = _score_block(
                        p0,
                        p1,
                        post_docs,
                        forward,
                        q_dense,
                        visited,
                        visited_list,
                        n_visited,
                        k,
                        heap_scores,
                        heap_docs,
                        size,
                    )
                elif variant == 4:
                    n_visited, size = block_single_exit(
                        p0,
                        p1,
                        post_docs,
                        forward,
                        q_dense,
                        visited,
                        visited_list,
                        n_visited,
                        k,
                        heap_scores,
                        heap_docs,
                        size,
                    )
                elif variant == 5:
                    n_visited, size = block_inline_body(
                        p0,
                        p1,
                        post_docs,
                        forward,
                        q_dense,
                        visited,
                        visited_list,
                        n_visited,
                        k,
                        heap_scores,
                        heap_docs,
                        size,
                    )
                elif variant == 6:
                    n_visited, size = block_visit_call(
                        p0,
                        p1,
                        post_docs,
                        forward,
                        q_dense,
                        visited,
                        visited_list,
                        n_visited,
                        k,
                        heap_scores,
                        heap_docs,
                        size,
                    )
                elif variant == 10:
                    n_visited, size = block_pf0(
                        p0,
                        p1,
                        post_docs,
                        forward,
                        q_dense,
                        visited,
                        visited_list,
                        n_visited,
                        k,
                        heap_scores,
                        heap_docs,
                        size,
                    )
                elif variant == 11:
                    n_visited, size = block_pf1(
                        p0,
                        p1,
                        post_docs,
                        forward,
                        q_dense,
                        visited,
                        visited_list,
                        n_visited,
                        k,
                        heap_scores,
                        heap_docs,
                        size,
                    )
                elif variant == 12:
                    n_visited, size = block_pf2(
                        p0,
                        p1,
                        post_docs,
                        forward,
                        q_dense,
                        visited,
                        visited_list,
                        n_visited,
                        k,
                        heap_scores,
                        heap_docs,
                        size,
                    )
                elif variant == 14:
                    n_visited, size = block_pf4(
                        p0,
                        p1,
                        post_docs,
                        forward,
                        q_dense,
                        visited,
                        visited_list,
                        n_visited,
                        k,
                        heap_scores,
                        heap_docs,
                        size,
                    )
                elif variant == 3:
                    for p in range(p0, p1):
                        d = post_docs[p]
                        if not _is_set(visited, d):
                            row_prefetch(forward, d)
                    for p in range(p0, p1):
                        n_visited, size = _visit(
                            post_docs[p],
                            forward,
                            q_dense,
                            visited,
                            visited_list,
                            n_visited,
                            k,
                            heap_scores,
                            heap_docs,
                            size,
                        )
                else:
                    for p in range(p0, p1):
                        d = post_docs[p]
                        if not _is_set(visited, d):
                            row_prefetch(forward, d)
                    for p in range(p0, p1):
                        d = post_docs[p]
                        if _is_set(visited, d):
                            continue
                        _set(visited, d)
                        visited_list[n_visited] = d
                        n_visited += 1
                        score = row_dot(forward, d, q_dense)
                        if not (
                            size == k
                            and heap_worse(score, np.int64(d), heap_scores[0], heap_docs[0])
                        ):
                            size = heap_offer(heap_scores, heap_docs, size, k, score, np.int64(d))
        heap_drain(heap_scores, heap_docs, size, out_scores, out_docs)
        for i in range(n_visited):
            word = visited_list[i] >> 6
            visited[word] = excluded[word]
        for j in range(len(q_terms)):
            q_dense[q_terms[j]] = 0.0
        return n_visited

    @njit(nogil=True)
    def run(
        forward,
        blocks,
        summaries,
        knn,
        queries,
        k,
        qc,
        hf,
        scratch,
        alone,
        out_docs,
        out_scores,
        per,
    ):
        q_indptr, q_terms, q_weights = queries
        for q in range(len(q_indptr) - 1):
            lo, hi = q_indptr[q], q_indptr[q + 1]
            ta = cycles()
            if variant == -2:
                old_search_one(
                    forward,
                    blocks,
                    summaries,
                    knn,
                    q_terms[lo:hi],
                    q_weights[lo:hi],
                    k,
                    qc,
                    hf,
                    False,
                    False,
                    0,
                    scratch,
                    out_docs,
                    out_scores,
                    alone,
                    0,
                )
            elif variant < 0:
                search_one(
                    forward,
                    blocks,
                    summaries,
                    knn,
                    q_terms[lo:hi],
                    q_weights[lo:hi],
                    k,
                    qc,
                    hf,
                    False,
                    False,
                    0,
                    scratch,
                    out_docs,
                    out_scores,
                    alone,
                    0,
                )
            else:
                one(
                    forward,
                    blocks,
                    summaries,
                    q_terms[lo:hi],
                    q_weights[lo:hi],
                    k,
                    qc,
                    hf,
                    scratch,
                    out_docs,
                    out_scores,
                )
            per[q] = cycles() - ta

    return run


ONLY = [int(x) for x in sys.argv[4].split(",")] if len(sys.argv) > 4 else None
VARIANTS = {
    -2: "c26bd46 search_one",
    -1: "worktree search_one",
    10: "block fn, no prefetch",
    11: "block fn, prefetch 1st line",
    12: "block fn, prefetch 2 lines",
    14: "block fn, prefetch 4 lines",
    0: "copy, all inline",
    1: "copy, product _score_block",
    2: "copy, _score_block + product floor test",
    3: "copy, inline prefetch + product _visit",
    4: "block fn + single-exit visit (inline)",
    5: "block fn, body written out",
    6: "block fn + _visit not inline",
}


def main():
    global VARIANTS
    if ONLY:
        VARIANTS = {v: VARIANTS[v] for v in ONLY}
    qc = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    hf = np.float32(float(sys.argv[2]) if len(sys.argv) > 2 else 0.8)
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    idx = SeismicIndex.load(".cache/bench/indexes/scifact/lsr", mmap=True)
    Q = read_vectors(".cache/bench/scifact-splade-tiny-queries-test.parquet")
    queries = (Q.indptr.astype(np.int64), Q.indices.astype(np.int32), Q.values.astype(np.float32))
    forward, blocks, summaries = idx._index_arrays
    n = len(Q)
    scratch = new_scratch(idx.vocab_size, len(idx), idx._max_blocks, idx._nothing_excluded)
    alone = unshared(1, 10)[0]
    od = np.empty(10, np.int64)
    os_ = np.empty(10, np.float32)
    runs = {v: make(v) for v in VARIANTS}
    best = {v: np.full(n, 1 << 62, np.int64) for v in VARIANTS}
    per = np.zeros(n, np.int64)
    results = {}
    for v, f in runs.items():
        f(forward, blocks, summaries, idx.knn, queries, 10, qc, hf, scratch, alone, od, os_, per)
        results[v] = od.copy()
    for r in range(rounds):
        for v, f in runs.items():
            f(
                forward,
                blocks,
                summaries,
                idx.knn,
                queries,
                10,
                qc,
                hf,
                scratch,
                alone,
                od,
                os_,
                per,
            )
            best[v] = np.minimum(best[v], per)
    base = best[-2].sum()
    for v in VARIANTS:
        print(
            f"{VARIANTS[v]:45s} {best[v].sum() / n / 2.599e3:7.1f} us  {best[v].sum() / base:.3f}x"
        )


main()
