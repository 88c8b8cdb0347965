"""Validation of queries before they reach the search kernels.

The kernels trust their input (no bounds checks in hot loops), so every public search entry point
passes its queries through here once: term ids inside the index vocabulary, weights finite and
non-negative, rows sorted by term id. Sorted rows also fix the order in which a document's score
is summed, so that every searcher computes bit-identical float32 scores.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lsr.errors import InputError
from lsr.vectors import SparseCollection, VectorMetadata, check_same_vocabulary


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}")
    return int(k)


def check_batch(queries: SparseCollection, documents: VectorMetadata) -> SparseCollection:
    """A query collection whose vocabulary matches the indexed documents' (size and
    fingerprint; rows are canonical already)."""
    if not isinstance(queries, SparseCollection):
        raise InputError(f"queries must be a SparseCollection, got {type(queries).__name__}")
    if queries.vocab_size != documents.vocab_size:
        raise InputError(
            f"queries have vocab_size {queries.vocab_size} but the index has "
            f"{documents.vocab_size}; were they encoded with the same model?"
        )
    check_same_vocabulary(queries.metadata, documents)
    return queries


def single_query(
    term_ids: np.ndarray, weights: np.ndarray, vocab_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One ``(term_ids, weights)`` query as canonical CSR arrays ``(indptr, terms, weights)``.

    A query is searched in well under a millisecond, so this validates in one compiled pass
    instead of building a :class:`SparseCollection`; the rules are the same (term ids inside the
    vocabulary and not repeated, weights finite and non-negative; rows are sorted by term id and
    zero weights dropped).
    """
    problem, detail, terms, values = canonical(*query_arrays(term_ids, weights), vocab_size)
    check_canonical(problem, detail, vocab_size)
    return np.array([0, len(terms)], dtype=np.int64), terms, values


#: Term ids :func:`query_arrays` passes on as they are; any other integer type becomes int64.
_KEPT_TERM_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def query_arrays(term_ids: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``term_ids`` (int32 or int64: a collection's rows are int32, a caller's often int64)
    and ``weights`` as :func:`canonical` takes them, once their shapes and dtypes are checked:
    the part of :func:`single_query` done in Python, for a search that canonicalizes inside
    its own compiled call (:meth:`SeismicIndex.search`). Widening int32 ids was a copy per
    query (0.8 µs alone, several in a search; ``reports/index-single-s9.md``); both widths
    compile to kernels of their own, other integer types are widened to limit their number."""
    terms = np.asarray(term_ids)
    values = np.asarray(weights)
    # ndim and len, not shape: two tuples made and compared per query.
    if terms.ndim != 1 or values.ndim != 1 or len(values) != len(terms):
        raise InputError(
            f"query: term_ids {terms.shape} and weights {values.shape} must be 1-d and equally long"
        )
    # dtype kinds, not np.issubdtype: the same test (signed / unsigned integers, floats) in a
    # tenth of the time, which counts in a search of ~200 us.
    if terms.size and terms.dtype.kind not in "iu":
        raise InputError(f"query: term ids must be integers, got {terms.dtype}")
    if values.size and values.dtype.kind not in "iuf":
        raise InputError(f"query: weights must be numbers, got {values.dtype}")
    if terms.dtype not in _KEPT_TERM_DTYPES:
        terms = terms.astype(np.int64)
    return terms, values


def check_canonical(problem: int, detail: int, vocab_size: int) -> None:
    """Raise the :class:`InputError` that :func:`canonical`'s ``(problem, detail)`` stands for."""
    if problem == _OUTSIDE_VOCABULARY:
        raise InputError(f"query: term id {detail} is outside the vocabulary [0, {vocab_size})")
    if problem == _BAD_WEIGHT:
        raise InputError("query: weights must be finite and non-negative")
    if problem == _REPEATED:
        raise InputError(f"query: term id {detail} is repeated")


_OUTSIDE_VOCABULARY, _BAD_WEIGHT, _REPEATED = 1, 2, 3


@njit(nogil=True, cache=True)
def canonical(term_ids, weights, vocab_size):
    """``(problem, detail, terms, weights)``: problem 0 and the sorted non-zero entries as int32 /
    float32, or a problem code (the constants above) and the offending term id."""
    n = len(term_ids)
    terms = np.empty(n, dtype=np.int32)
    values = np.empty(n, dtype=np.float32)
    kept = 0
    ordered = True
    for i in range(n):
        t = term_ids[i]
        if t < 0 or t >= vocab_size:
            return _OUTSIDE_VOCABULARY, t, terms[:0], values[:0]
        w = np.float32(weights[i])
        if not (w >= 0 and w < np.inf):
            return _BAD_WEIGHT, t, terms[:0], values[:0]
        if w > 0:
            ordered = ordered and (kept == 0 or t > terms[kept - 1])
            terms[kept] = t
            values[kept] = w
            kept += 1
    terms, values = terms[:kept], values[:kept]
    if not ordered:
        order = np.argsort(terms, kind="mergesort")
        terms, values = terms[order], values[order]
        for i in range(1, kept):
            if terms[i] == terms[i - 1]:
                return _REPEATED, np.int64(terms[i]), terms[:0], values[:0]
    return 0, np.int64(0), terms, values
