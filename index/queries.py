"""Validation of queries before they reach the search kernels.

The kernels trust their input (no bounds checks in hot loops), so every public search entry point
passes its queries through here once: term ids inside the index vocabulary, weights finite and
non-negative, rows sorted by term id. Sorted rows also fix the order in which a document's score
is summed, so that every searcher computes bit-identical float32 scores.
"""

from __future__ import annotations

import numpy as np

from lsr.errors import InputError, VectorFormatError
from lsr.vectors import SparseCollection, VectorMetadata


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


def single_query(term_ids: np.ndarray, weights: np.ndarray, vocab_size: int) -> SparseCollection:
    """One ``(term_ids, weights)`` query as a canonical one-row collection."""
    try:
        return SparseCollection.from_csr(
            ["query"],
            np.array([0, len(term_ids)], dtype=np.int64),
            np.asarray(term_ids),
            np.asarray(weights),
            VectorMetadata(vocab_size),
            source="query",
        )
    except VectorFormatError as exc:
        raise InputError(str(exc)) from None
