"""Scratch: the parts of score_summaries (a copy with timers), SciFact qc 8 hf 0.8, per-query
minimum of 9 rounds by the cycle counter. Run from the worktree root:
python reports/index_intel_where_s8_summaries.py"""

import sys

import numba
import numpy as np

numba.set_num_threads(1)
sys.path.insert(0, __import__("os").path.dirname(__file__))
from index_intel_where_s8_phase_cycles import cycles
from lsr.index.prefetch import prefetch_range
from lsr.index.seismic import SeismicIndex
from lsr.index.summary import (
    GROUP_BLOCKS,
    _accumulate,
    _entry_range,
    _find_components,
)
from numba import njit

from lsr.vector_io import read_vectors


@njit(nogil=True)
def timed(summaries, t, b0, b1, q_terms, q_weights, out, cyc):
    (
        list_group_ptr,
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        comp_counts,
        comp_checkpoints,
        entry_block,
        entry_code,
        block_min,
        block_scale,
    ) = summaries
    n_blocks = b1 - b0
    for b in range(n_blocks):
        out[b] = 0.0
    n_entries = min(len(entry_code), len(entry_block))
    found_query = np.empty(len(q_terms), dtype=np.int64)
    found_start = np.empty(len(q_terms), dtype=np.int64)
    found_stop = np.empty(len(q_terms), dtype=np.int64)
    for g in range(list_group_ptr[t], list_group_ptr[t + 1]):
        first = (g - list_group_ptr[t]) * GROUP_BLOCKS
        last = min(n_blocks - first, GROUP_BLOCKS) - 1
        if last < 0:
            return
        t0 = cycles()
        n_found = _find_components(g, summaries, q_terms, found_query, found_start)
        t1 = cycles()
        for i in range(n_found):
            start, stop = _entry_range(found_start[i], comp_counts, comp_checkpoints, n_entries)
            found_start[i], found_stop[i] = start, stop
            prefetch_range(entry_block, start, stop)
            prefetch_range(entry_code, start, stop)
        t2 = cycles()
        for i in range(n_found):
            _accumulate(
                found_start[i],
                found_stop[i],
                entry_block,
                entry_code,
                block_min,
                block_scale,
                b0 + first,
                first,
                last,
                q_weights[found_query[i]],
                out,
            )
        t3 = cycles()
        cyc[0] += t1 - t0
        cyc[1] += t2 - t1
        cyc[2] += t3 - t2
        cyc[3] += n_found


@njit(nogil=True)
def run(summaries, lbp, queries, qc, out, cyc):
    q_indptr, q_terms, q_weights = queries
    for q in range(len(q_indptr) - 1):
        terms, weights = (
            q_terms[q_indptr[q] : q_indptr[q + 1]],
            q_weights[q_indptr[q] : q_indptr[q + 1]],
        )
        c = np.zeros(4, np.int64)
        for j in np.argsort(-weights, kind="mergesort")[:qc]:
            b0, b1 = lbp[terms[j]], lbp[terms[j] + 1]
            if b1 > b0:
                timed(summaries, terms[j], b0, b1, terms, weights, out, c)
        for i in range(4):
            cyc[q, i] = min(cyc[q, i], c[i])


idx = SeismicIndex.load(".cache/bench/indexes/scifact/lsr", mmap=True)
Q = read_vectors(".cache/bench/scifact-splade-tiny-queries-test.parquet")
queries = (Q.indptr.astype(np.int64), Q.indices.astype(np.int32), Q.values.astype(np.float32))
forward, blocks, summaries = idx._index_arrays
out = np.empty(idx._max_blocks, np.float32)
cyc = np.full((len(Q), 4), 1 << 62, np.int64)
for r in range(9):
    run(summaries, blocks[0], queries, 8, out, cyc)
n = len(Q)
tot = cyc.sum(0)
print(
    f"per query (us, TSC 2.599): find components {tot[0] / n / 2599:.1f}, entry ranges + prefetch {tot[1] / n / 2599:.1f}, accumulate {tot[2] / n / 2599:.1f}; components found {tot[3] / n:.0f}"
)
