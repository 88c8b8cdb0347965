"""Exact top-k with scipy: the ground truth of the index benchmark, independent of ``index/``.

Accuracy@10 (Bruch et al., SIGIR 2024, section 5.1) is the fraction of the exact top-10 that an
approximate search returns; the exact top-10 here comes from scipy's sparse kernels, not from our
``ExactIndex``, so the benchmark also cross-checks that one.

Two scipy routes: the ground truth gathers the posting lists of each query's terms from a CSC
copy (work proportional to the postings touched, fast enough for a million documents), and the
latency reference is the textbook CSR matrix-vector product over the whole collection.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from lsr.vectors import SparseCollection


def to_csr(collection: SparseCollection) -> sp.csr_matrix:
    shape = (len(collection), collection.vocab_size)
    return sp.csr_matrix((collection.values, collection.indices, collection.indptr), shape=shape)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest positive scores, best first (fewer when fewer are > 0)."""
    k = min(k, int(np.count_nonzero(scores > 0)))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    best = np.argpartition(-scores, k - 1)[:k]
    return best[np.argsort(-scores[best], kind="stable")]


def ground_truth(
    docs: SparseCollection, queries: SparseCollection, k: int = 10, progress: bool = True
) -> list[np.ndarray]:
    """Exact top-``k`` document positions of every query (float64 accumulation)."""
    csc = to_csr(docs).tocsc()
    truth = []
    for _, term_ids, weights in tqdm(queries.rows(), total=len(queries), desc="exact top-k",
                                     disable=not progress):  # fmt: skip
        lists = csc[:, term_ids]
        scores = lists @ weights.astype(np.float64)
        truth.append(top_k(np.asarray(scores).ravel(), k))
    return truth


def csr_latencies(docs: SparseCollection, queries: SparseCollection, k: int = 10) -> np.ndarray:
    """Seconds per query of the CSR product ``D @ q`` plus top-k selection, one query at a time."""
    csr = to_csr(docs)
    dense = np.zeros(docs.vocab_size, dtype=np.float32)
    seconds = np.empty(len(queries))
    for i, (_, term_ids, weights) in enumerate(queries.rows()):
        dense[term_ids] = weights
        start = time.perf_counter()
        top_k(csr @ dense, k)
        seconds[i] = time.perf_counter() - start
        dense[term_ids] = 0.0
    return seconds
