"""Scratch: cycle-counter phases of search_one (list order, first_sorted False), SciFact qc 8 hf 0.8.
Not product code. Run from the worktree root: python reports/index_intel_where_s8_phase.py QC HF ROUNDS"""

import sys
import time

import numba
import numpy as np
from numba import njit

numba.set_num_threads(1)
from lsr.index.forward import row_dot, row_prefetch
from lsr.index.search import _is_set, _set, new_scratch, search_one
from lsr.index.seismic import SeismicIndex
from lsr.index.shared_bound import unshared
from lsr.index.summary import score_summaries
from lsr.index.topk import heap_drain, heap_offer, heap_worse

from lsr.vector_io import read_vectors

sys.path.insert(0, __import__("os").path.dirname(__file__))
from index_intel_where_s8_phase_cycles import cycles

NAMES = [
    "setup (q_dense fill, heap alloc, argsort)",
    "summary scoring",
    "block loop (threshold tests)",
    "prefetch loop",
    "visited test/set + list",
    "document dots (row_dot)",
    "heap offers (incl. refusal test)",
    "teardown (drain, visited reset, q_dense clear)",
    "total (one timer around all)",
]


@njit(nogil=True)
def search_timed(
    forward, blocks, summaries, q_terms, q_weights, k, query_cut, heap_factor, scratch, cyc, fine
):
    t_all = cycles()
    list_block_ptr, block_ptr, post_docs = blocks
    q_dense, visited, visited_list, block_scores, excluded = scratch
    t0 = cycles()
    for j in range(len(q_terms)):
        q_dense[q_terms[j]] = q_weights[j]
    heap_scores = np.empty(k, dtype=np.float32)
    heap_docs = np.empty(k, dtype=np.int64)
    size = 0
    n_visited = 0
    threshold = np.float32(heap_factor)
    heaviest = np.argsort(-q_weights, kind="mergesort")[:query_cut]
    t1 = cycles()
    cyc[0] += t1 - t0
    loop_total = 0
    inner = 0
    for rank in range(len(heaviest)):
        t = q_terms[heaviest[rank]]
        b0, b1 = list_block_ptr[t], list_block_ptr[t + 1]
        if b0 == b1:
            continue
        ta = cycles()
        scores = block_scores[: b1 - b0]
        score_summaries(summaries, t, b0, b1, q_terms, q_weights, scores)
        tb = cycles()
        cyc[1] += tb - ta
        for i in range(b1 - b0):
            floor = heap_scores[0] if size == k else np.float32(-1.0)
            if size == k and scores[i] < threshold * floor:
                continue
            tc = cycles()
            p0, p1 = block_ptr[b0 + i], block_ptr[b0 + i + 1]
            for p in range(p0, p1):
                d = post_docs[p]
                if not _is_set(visited, d):
                    row_prefetch(forward, d)
            td = cycles()
            cyc[3] += td - tc
            for p in range(p0, p1):
                d = post_docs[p]
                if fine:
                    te = cycles()
                    if _is_set(visited, d):
                        cyc[4] += cycles() - te
                        continue
                    _set(visited, d)
                    visited_list[n_visited] = d
                    n_visited += 1
                    tf = cycles()
                    cyc[4] += tf - te
                    score = row_dot(forward, d, q_dense)
                    tg = cycles()
                    cyc[5] += tg - tf
                    if not (
                        size == k and heap_worse(score, np.int64(d), heap_scores[0], heap_docs[0])
                    ):
                        size = heap_offer(heap_scores, heap_docs, size, k, score, np.int64(d))
                    cyc[6] += cycles() - tg
                else:
                    if _is_set(visited, d):
                        continue
                    _set(visited, d)
                    visited_list[n_visited] = d
                    n_visited += 1
                    score = row_dot(forward, d, q_dense)
                    if not (
                        size == k and heap_worse(score, np.int64(d), heap_scores[0], heap_docs[0])
                    ):
                        size = heap_offer(heap_scores, heap_docs, size, k, score, np.int64(d))
            inner += cycles() - tc
        loop_total += cycles() - tb
    cyc[2] += loop_total - inner
    if not fine:
        cyc[5] += inner - 0  # prefetch + visiting together when not fine
    th = cycles()
    out_docs = np.empty(k, np.int64)
    out_scores = np.empty(k, np.float32)
    heap_drain(heap_scores, heap_docs, size, out_scores, out_docs)
    for i in range(n_visited):
        word = visited_list[i] >> 6
        visited[word] = excluded[word]
    for j in range(len(q_terms)):
        q_dense[q_terms[j]] = 0.0
    cyc[7] += cycles() - th
    cyc[8] += cycles() - t_all
    return n_visited


@njit(nogil=True)
def run_timed(forward, blocks, summaries, queries, k, qc, hf, scratch, cyc, fine):
    q_indptr, q_terms, q_weights = queries
    n = 0
    for q in range(len(q_indptr) - 1):
        lo, hi = q_indptr[q], q_indptr[q + 1]
        n += search_timed(
            forward,
            blocks,
            summaries,
            q_terms[lo:hi],
            q_weights[lo:hi],
            k,
            qc,
            hf,
            scratch,
            cyc[q],
            fine,
        )
    return n


@njit(nogil=True)
def run_product(
    forward, blocks, summaries, knn, queries, k, qc, hf, scratch, alone, out_docs, out_scores, per
):
    q_indptr, q_terms, q_weights = queries
    t0 = cycles()
    for q in range(len(q_indptr) - 1):
        lo, hi = q_indptr[q], q_indptr[q + 1]
        ta = cycles()
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
        per[q] = cycles() - ta
    return cycles() - t0


@njit(nogil=True)
def empty_pairs(n):
    s = 0
    for i in range(n):
        a = cycles()
        s += cycles() - a
    return s


@njit(nogil=True)
def scored_docs(forward, blocks, summaries, knn, queries, k, qc, hf, scratch, alone):
    q_indptr, q_terms, q_weights = queries
    ptr = np.zeros(len(q_indptr), np.int64)
    out = np.empty(len(q_indptr) * 5000, np.int64)
    od = np.empty(k, np.int64)
    os_ = np.empty(k, np.float32)
    for q in range(len(q_indptr) - 1):
        lo, hi = q_indptr[q], q_indptr[q + 1]
        n = search_one(
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
            od,
            os_,
            alone,
            0,
        )
        out[ptr[q] : ptr[q] + n] = scratch[2][:n]
        ptr[q + 1] = ptr[q] + n
    return ptr, out[: ptr[-1]].copy()


@njit(nogil=True)
def docs_interaction(
    forward, summaries, list_block_ptr, queries, qc, ptr, docs, q_dense, block_scores, cyc
):
    """Per query: [0] dots of its scored documents right after scoring its summaries (as search);
    [1] the same dots again right after (hot); [2] the summaries alone."""
    q_indptr, q_terms, q_weights = queries
    check = np.float32(0)
    for q in range(len(q_indptr) - 1):
        lo, hi = q_indptr[q], q_indptr[q + 1]
        terms, weights = q_terms[lo:hi], q_weights[lo:hi]
        for j in range(len(terms)):
            q_dense[terms[j]] = weights[j]
        t0 = cycles()
        for j in np.argsort(-weights, kind="mergesort")[:qc]:
            b0, b1 = list_block_ptr[terms[j]], list_block_ptr[terms[j] + 1]
            if b1 > b0:
                score_summaries(summaries, terms[j], b0, b1, terms, weights, block_scores)
        t1 = cycles()
        cyc[q, 2] += t1 - t0
        for rep in range(2):
            ta = cycles()
            for start in range(ptr[q], ptr[q + 1], 8):
                stop = min(start + 8, ptr[q + 1])
                for i in range(start, stop):
                    row_prefetch(forward, docs[i])
                for i in range(start, stop):
                    check += row_dot(forward, docs[i], q_dense)
            cyc[q, rep] += cycles() - ta
        for j in range(len(terms)):
            q_dense[terms[j]] = 0.0
    return check


def main():
    qc = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    hf = float(sys.argv[2]) if len(sys.argv) > 2 else 0.8
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    idx = SeismicIndex.load(".cache/bench/indexes/scifact/lsr", mmap=True)
    Q = read_vectors(".cache/bench/scifact-splade-tiny-queries-test.parquet")
    queries = (Q.indptr.astype(np.int64), Q.indices.astype(np.int32), Q.values.astype(np.float32))
    forward, blocks, summaries = idx._index_arrays
    n = len(Q)
    scratch = new_scratch(idx.vocab_size, len(idx), idx._max_blocks, idx._nothing_excluded)
    alone = unshared(1, 10)[0]
    od = np.empty(10, np.int64)
    os_ = np.empty(10, np.float32)
    hf32 = np.float32(hf)
    per = np.zeros(n, np.int64)
    run_product(
        forward, blocks, summaries, idx.knn, queries, 10, qc, hf32, scratch, alone, od, os_, per
    )
    ghz = 0
    for _ in range(5):
        w0 = time.perf_counter()
        c = run_product(
            forward, blocks, summaries, idx.knn, queries, 10, qc, hf32, scratch, alone, od, os_, per
        )
        w1 = time.perf_counter()
        ghz = max(ghz, c / (w1 - w0) / 1e9)
    pair = empty_pairs(1000000) / 1e6
    ptr, docs = scored_docs(
        forward, blocks, summaries, idx.knn, queries, 10, qc, hf32, scratch, alone
    )
    nd = len(docs) / n
    print(
        f"TSC {ghz:.3f} GHz; an empty timer pair {pair:.1f} ticks; {nd:.0f} docs/query; qc {qc} hf {hf}; per-query minimum over {rounds} rounds of each figure"
    )
    prod = np.full(n, 1 << 62, np.int64)
    fine_c = np.full((n, 9), 1 << 62, np.int64)
    coarse_c = fine_c.copy()
    inter = np.full((n, 3), 1 << 62, np.int64)
    for r in range(rounds):
        run_product(
            forward, blocks, summaries, idx.knn, queries, 10, qc, hf32, scratch, alone, od, os_, per
        )
        prod = np.minimum(prod, per)
        for fine in (True, False):
            cyc = np.zeros((n, 9), np.int64)
            run_timed(forward, blocks, summaries, queries, 10, qc, hf32, scratch, cyc, fine)
            if fine:
                fine_c = np.minimum(fine_c, cyc)
            else:
                coarse_c = np.minimum(coarse_c, cyc)
        cyc = np.zeros((n, 3), np.int64)
        docs_interaction(
            forward, summaries, blocks[0], queries, qc, ptr, docs, scratch[0], scratch[3], cyc
        )
        inter = np.minimum(inter, cyc)
    us = lambda ticks: ticks / n / ghz / 1e3
    best_prod = prod.sum()
    best_fine = fine_c.sum(0)
    best_coarse = coarse_c.sum(0)
    best_inter = inter.sum(0)
    print(f"product search_one, no timers: {us(best_prod):.1f} us/query")
    print("coarse (timers per block, not per document):")
    for i in [0, 1, 2, 3, 7, 8]:
        print(f"  {NAMES[i]:55s} {us(best_coarse[i]):7.1f}")
    print(
        f"  {'visits (visited + dots + heap), per block':55s} {us(best_coarse[5]) - us(best_coarse[3]):7.1f}"
    )
    print("fine (timers per document; each pair adds ~%.0f ticks):" % pair)
    for i in range(9):
        print(f"  {NAMES[i]:55s} {us(best_fine[i]):7.1f}")
    print("interaction (per query, documents replayed with prefetch by 8):")
    print(
        f"  summaries alone {us(best_inter[2]):.1f}; dots right after the summaries {us(best_inter[0]):.1f}; same dots again (hot) {us(best_inter[1]):.1f}"
    )
    entries = np.diff(forward[0])[docs].sum() / n
    print(
        f"  {entries:.0f} entries/query: after summaries {us(best_inter[0]) * 1e3 / entries:.3f} ns/entry, hot {us(best_inter[1]) * 1e3 / entries:.3f}"
    )


if __name__ == "__main__":
    main()
