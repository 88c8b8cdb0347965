"""Exact top-k with scipy: the ground truth of the index benchmark, independent of ``index/``.

Accuracy@10 (Bruch et al., SIGIR 2024, section 5.1) is the fraction of the exact top-10 that an
approximate search returns; the exact top-10 here comes from scipy's sparse kernels, not from our
``ExactIndex``, so the benchmark also cross-checks that one.

Two scipy routes: the ground truth (:func:`exact_top_k`) multiplies batches of documents by the
sparse query matrix (work proportional to the document-query term matches, the memory of one
batch: a million documents are never copied whole), and the latency reference is the textbook
CSR matrix-vector product over the whole collection.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

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
    """Exact top-``k`` document positions of every query (positive scores only)."""
    found, _ = exact_top_k(
        batches(docs.indptr, docs.indices, lambda a, b: docs.values[a:b], docs.vocab_size),
        queries, k, progress,
    )  # fmt: skip
    return [row[row >= 0] for row in found]


def batches(
    indptr: np.ndarray,
    terms: np.ndarray,
    values: Callable[[int, int], np.ndarray],
    vocab_size: int,
    size: int = 20_000,
) -> Iterator[tuple[int, sp.csr_matrix]]:
    """The documents of a CSR layout ``size`` at a time, as ``(first position, CSR rows)``;
    ``values(a, b)``: the weights of entries ``a:b`` (a forward index decodes its float16)."""
    indptr = np.asarray(indptr)
    for lo in range(0, len(indptr) - 1, size):
        hi = min(lo + size, len(indptr) - 1)
        a, b = int(indptr[lo]), int(indptr[hi])
        rows = (values(a, b), terms[a:b], indptr[lo : hi + 1] - a)
        yield lo, sp.csr_matrix(rows, shape=(hi - lo, vocab_size))


def forward_batches(forward: Any, size: int = 20_000) -> Iterator[tuple[int, sp.csr_matrix]]:
    """The documents of a forward index (either layout of :mod:`index.forward`) ``size`` at a
    time, as :func:`batches` gives them: each batch decoded on its own (``rows_at``), never a
    copy of the whole index."""
    for lo in range(0, len(forward), size):
        hi = min(lo + size, len(forward))
        indptr, terms, values = forward.rows_at(np.arange(lo, hi))
        yield lo, sp.csr_matrix((values, terms, indptr), shape=(hi - lo, forward.vocab_size))


def exact_top_k(
    documents: Iterable[tuple[int, sp.csr_matrix]],
    queries: SparseCollection,
    k: int = 10,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` positions and float32 scores of every query over the ``documents`` batches
    (:func:`batches`), accumulated in float64: best first, ties to the lower position, positive
    scores only (``-1`` / ``0`` padding)."""
    by_term = to_csr(queries).T.tocsr().astype(np.float64)
    best_docs = np.full((len(queries), k), -1, np.int64)
    best_scores = np.zeros((len(queries), k), np.float64)
    for first, rows in tqdm(documents, desc="exact top-k", unit="batch", disable=not progress):
        scores = np.concatenate(
            [best_scores, (rows.astype(np.float64) @ by_term).toarray().T], axis=1
        )
        positions = np.arange(first, first + rows.shape[0])
        docs = np.concatenate(
            [best_docs, np.broadcast_to(positions, (len(queries), len(positions)))], axis=1
        )
        docs = np.where(scores > 0, docs, -1)
        order = np.lexsort((np.where(docs < 0, np.iinfo(np.int64).max, docs), -scores), axis=1)
        best_docs = np.take_along_axis(docs, order[:, :k], 1)
        best_scores = np.take_along_axis(scores, order[:, :k], 1)
    return best_docs, np.where(best_docs >= 0, best_scores, 0.0).astype(np.float32)


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
