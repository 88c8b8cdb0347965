import time

import numba
import numpy as np

numba.set_num_threads(1)
from lsr.index import seismic as S
from lsr.index.search import search_serial
from lsr.index.seismic import SeismicIndex

from lsr.vector_io import read_vectors

idx = SeismicIndex.load(".cache/bench/indexes/scifact/lsr", mmap=True)
Q = read_vectors(".cache/bench/scifact-splade-tiny-queries-test.parquet")
qs = [
    (
        Q.indices[Q.indptr[i] : Q.indptr[i + 1]].astype(np.int64),
        Q.values[Q.indptr[i] : Q.indptr[i + 1]].astype(np.float32),
    )
    for i in range(len(Q.indptr) - 1)
]
qs32 = [(t.astype(np.int32), v) for t, v in qs]
kw = dict(k=10, query_cut=5, heap_factor=0.8, first_sorted=False, engine="seismic")
idx.search(*qs[0], **kw)
idx.search_batch(Q, **kw)
ex = idx._nothing_excluded
sc = idx._scratch(ex)
arr = idx._index_arrays
sh = S.unshared(1, 10)[0]
shq = S.unshared(1, 10)
hf = np.float32(0.8)
ones = [(np.array([0, len(t)], np.int64), t, v) for t, v in qs32]
search_serial(*arr, idx.knn, ones[0], 10, 5, hf, False, False, 0, sc, shq, 0)


def single():
    for t, v in qs:
        idx.search(t, v, **kw)


def direct():
    for t, v in qs:
        S._search_single(*arr, idx.knn, t, v, idx.vocab_size, 10, 5, hf, False, False, 0, sc, sh, 0)


def serial1():
    for o in ones:
        search_serial(*arr, idx.knn, o, 10, 5, hf, False, False, 0, sc, shq, 0)


def batch():
    idx.search_batch(Q, **kw)


runs = {
    "single": single,
    "direct _search_single": direct,
    "search_serial, 1-query batches": serial1,
    "batch": batch,
}
best = {k: 1e9 for k in runs}
for r in range(5):
    for name, f in runs.items():
        t0 = time.process_time()
        f()
        best[name] = min(best[name], time.process_time() - t0)
for name in runs:
    print(f"{name:35s} {best[name] / len(qs) * 1e6:6.1f} us")
from lsr.index.queries import check_canonical, query_arrays
from lsr.index.results import row_hits


def with_hits():
    for t, v in qs:
        p, d, docs, scores = S._search_single(
            *arr, idx.knn, t, v, idx.vocab_size, 10, 5, hf, False, False, 0, sc, sh, 0
        )
        row_hits(idx.doc_ids, docs, scores)


def with_hits_params():
    for t, v in qs:
        params = idx._params(10, 5, 0.8, False, None, "seismic", None)
        idx._engine(params, None)
        p, d, docs, scores = S._search_single(
            *arr, idx.knn, t, v, idx.vocab_size, 10, 5, hf, False, False, 0, sc, sh, 0
        )
        row_hits(idx.doc_ids, docs, scores)


def with_all_but_unshared():
    for t, v in qs:
        params = idx._params(10, 5, 0.8, False, None, "seismic", None)
        idx._engine(params, None)
        terms, values = query_arrays(t, v)
        p, d, docs, scores = S._search_single(
            *idx._index_arrays,
            idx.knn,
            terms,
            values,
            idx.vocab_size,
            params.k,
            params.query_cut,
            np.float32(params.heap_factor),
            params.first_sorted,
            params.global_order,
            params.n_knn,
            idx._scratch(idx._excluded(None)),
            sh,
            0,
        )
        check_canonical(p, d, idx.vocab_size)
        row_hits(idx.doc_ids, docs, scores)


runs = {
    "direct": direct,
    "+row_hits": with_hits,
    "+params/engine": with_hits_params,
    "all but unshared()": with_all_but_unshared,
    "single": single,
}
best = {k: 1e9 for k in runs}
for r in range(5):
    for name, f in runs.items():
        t0 = time.process_time()
        f()
        best[name] = min(best[name], time.process_time() - t0)
for name in runs:
    print(f"{name:35s} {best[name] / len(qs) * 1e6:6.1f} us")
