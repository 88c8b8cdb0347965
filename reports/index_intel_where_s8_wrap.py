import timeit

import numba
import numpy as np

numba.set_num_threads(1)
from lsr.index import seismic as S
from lsr.index.queries import check_canonical, query_arrays
from lsr.index.results import row_hits
from lsr.index.seismic import SeismicIndex

idx = SeismicIndex.load(".cache/bench/indexes/scifact/lsr", mmap=True)
t = np.array([2000, 3000, 4000], np.int32)
v = np.ones(3, np.float32)
e = (
    np.array([np.flatnonzero(np.diff(idx.postings.list_block_ptr) == 0)[0]], np.int32),
    np.ones(1, np.float32),
)
kw = dict(k=10, query_cut=8, heap_factor=0.8, engine="seismic")
idx.search(*e, **kw)
p = idx._params(10, 8, 0.8, None, None, "seismic")
ex = idx._nothing_excluded
sc = idx._scratch(ex)
arr = idx._index_arrays
sh = S.unshared(1, 10)[0]
terms, values = query_arrays(*e)
res = S._search_single(
    *arr, idx.knn, terms, values, idx.vocab_size, 10, 8, np.float32(0.8), False, False, 0, sc, sh, 0
)
items = {
    "search(empty)": lambda: idx.search(*e, **kw),
    "_params": lambda: idx._params(10, 8, 0.8, None, None, "seismic"),
    "_engine": lambda: idx._engine(p, None),
    "query_arrays": lambda: query_arrays(*e),
    "_scratch+_excluded": lambda: idx._scratch(idx._excluded(None)),
    "unshared(1,k)[0]": lambda: S.unshared(1, 10)[0],
    "_index_arrays attr": lambda: idx._index_arrays,
    "kernel call (empty)": lambda: S._search_single(
        *arr,
        idx.knn,
        terms,
        values,
        idx.vocab_size,
        10,
        8,
        np.float32(0.8),
        False,
        False,
        0,
        sc,
        sh,
        0,
    ),
    "check_canonical": lambda: check_canonical(0, 0, 30522),
    "row_hits": lambda: row_hits(idx.doc_ids, res[2], res[3]),
    "np.float32(0.8)": lambda: np.float32(0.8),
}
for r in range(2):
    for name, f in items.items():
        n = 20000
        best = min(timeit.repeat(f, number=n, repeat=5)) / n * 1e6
        if r:
            print(f"{name:25s} {best:6.2f} us")
from numba import njit


@njit(nogil=True)
def nothing(
    forward, blocks, summaries, knn, t, v, vs, k, qc, hf, fs, go, nk, scratch, shared, slot
):
    return 0


@njit(nogil=True)
def nothing1(x):
    return 0


nothing(
    *arr, idx.knn, terms, values, idx.vocab_size, 10, 8, np.float32(0.8), False, False, 0, sc, sh, 0
)
nothing1(terms)
sig = list(S._search_single.overloads)[0]
cres = S._search_single.overloads[sig]
ep = cres.entry_point
print(type(ep))
items2 = {
    "njit nothing, same 16 args": lambda: nothing(
        *arr,
        idx.knn,
        terms,
        values,
        idx.vocab_size,
        10,
        8,
        np.float32(0.8),
        False,
        False,
        0,
        sc,
        sh,
        0,
    ),
    "njit nothing, one array": lambda: nothing1(terms),
    "entry_point (no typeof)": lambda: ep(
        *arr,
        idx.knn,
        terms,
        values,
        idx.vocab_size,
        10,
        8,
        np.float32(0.8),
        False,
        False,
        0,
        sc,
        sh,
        0,
    ),
}
for name, f in items2.items():
    n = 20000
    best = min(timeit.repeat(f, number=n, repeat=5)) / n * 1e6
    print(f"{name:25s} {best:6.2f} us")
