"""Validation of queries before they reach the search kernels.

The kernels trust their input (no bounds checks in hot loops), so every public search entry point
passes its queries through here once: term ids inside the index vocabulary, weights finite and
non-negative, rows sorted by term id. Sorted rows also fix the order in which a document's score
is summed, so that every searcher computes bit-identical float32 scores.
"""

from __future__ import annotations

import numpy as np

from lsr.errors import InputError
from lsr.vectors import SparseCollection


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}")
    return int(k)


def check_batch(queries: SparseCollection, vocab_size: int) -> SparseCollection:
    """A query collection whose vocabulary matches the index (rows are canonical already)."""
    if not isinstance(queries, SparseCollection):
        raise InputError(f"queries must be a SparseCollection, got {type(queries).__name__}")
    if queries.vocab_size != vocab_size:
        raise InputError(
            f"queries have vocab_size {queries.vocab_size} but the index has {vocab_size}; "
            "were they encoded with the same model?"
        )
    return queries


def single_query(
    term_ids: np.ndarray, weights: np.ndarray, vocab_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One ``(term_ids, weights)`` query as canonical CSR arrays ``(indptr, terms, weights)``.

    A query is searched in well under a millisecond, so this validates with a handful of vector
    operations instead of building a :class:`SparseCollection`; the rules are the same (term ids
    inside the vocabulary and not repeated, weights finite and non-negative; rows are sorted by
    term id and zero weights dropped).
    """
    terms = np.asarray(term_ids)
    values = np.asarray(weights)
    if terms.ndim != 1 or values.shape != terms.shape:
        raise InputError(
            f"query: term_ids {terms.shape} and weights {values.shape} must be 1-d and equally long"
        )
    if terms.size and not np.issubdtype(terms.dtype, np.integer):
        raise InputError(f"query: term ids must be integers, got {terms.dtype}")
    if terms.size and (terms.min() < 0 or terms.max() >= vocab_size):
        bad = terms[(terms < 0) | (terms >= vocab_size)][0]
        raise InputError(f"query: term id {int(bad)} is outside the vocabulary [0, {vocab_size})")
    values = values.astype(np.float32)
    if not np.isfinite(values).all() or (values < 0).any():
        raise InputError("query: weights must be finite and non-negative")
    keep = values > 0
    terms, values = terms[keep].astype(np.int32), values[keep]
    if np.any(np.diff(terms) <= 0):
        order = np.argsort(terms, kind="stable")
        terms, values = terms[order], values[order]
        repeated = terms[1:][np.diff(terms) == 0]
        if len(repeated):
            raise InputError(f"query: term id {int(repeated[0])} is repeated")
    return np.array([0, len(terms)], dtype=np.int64), terms, values
