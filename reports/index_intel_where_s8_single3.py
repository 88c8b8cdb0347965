"""Scratch: index.search (remembered kernel parameters) against the same call validating every
time (the code before), interleaved in one process, SciFact qc 5 hf 0.8, CPU clock, fastest of 7.
Run from the worktree root: python reports/index_intel_where_s8_single3.py"""

import time

import numba
import numpy as np

numba.set_num_threads(1)
from lsr.index import seismic as S
from lsr.index.queries import check_canonical, query_arrays
from lsr.index.results import row_hits
from lsr.index.seismic import SeismicIndex

from lsr.vector_io import read_vectors

idx = SeismicIndex.load(".cache/bench/indexes/scifact/lsr", mmap=True)
Q = read_vectors(".cache/bench/scifact-splade-tiny-queries-test.parquet")
qs = [Q.row(i) for i in range(len(Q))]
kw = dict(k=10, query_cut=5, heap_factor=0.8, first_sorted=False, engine="seismic")


def validating(
    self,
    term_ids,
    weights,
    k=10,
    query_cut=None,
    heap_factor=None,
    first_sorted=None,
    n_knn=None,
    global_order=None,
    exclude=None,
    engine=None,
):
    params = self._params(k, query_cut, heap_factor, first_sorted, n_knn, engine, global_order)
    if self._engine(params, exclude) == "exact":
        return self._exact_searcher().search(term_ids, weights, k=params.k)
    terms, values = query_arrays(term_ids, weights)
    problem, detail, docs, scores = S._search_single(
        *self._index_arrays,
        self.knn,
        terms,
        values,
        self.vocab_size,
        params.k,
        params.query_cut,
        np.float32(params.heap_factor),
        params.first_sorted,
        params.global_order,
        params.n_knn,
        self._scratch(self._excluded(exclude)),
        S.unshared(1, params.k)[0],
        0,
    )
    check_canonical(problem, detail, self.vocab_size)
    return row_hits(self.doc_ids, docs, scores)


def new():
    for t, v in qs:
        idx.search(t, v, **kw)


def old():
    for t, v in qs:
        validating(idx, t, v, **kw)


def batch():
    idx.search_batch(Q, **kw)


for t, v in qs[:3]:
    a, b = idx.search(t, v, **kw), validating(idx, t, v, **kw)
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
runs = {
    "search, validating every call": old,
    "search, remembered parameters": new,
    "search_batch": batch,
}
for f in runs.values():
    f()
best = dict.fromkeys(runs, 1e9)
for r in range(7):
    for name, f in runs.items():
        t0 = time.process_time()
        f()
        best[name] = min(best[name], time.process_time() - t0)
for name in runs:
    print(f"{name:35s} {best[name] / len(qs) * 1e6:6.1f} us")
