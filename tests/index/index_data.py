"""Small synthetic collections for the index tests (imported as ``from index_data import ...``)."""

from __future__ import annotations

import numpy as np

from lsr.vectors import SparseCollection, VectorMetadata


def random_collection(
    n: int,
    vocab_size: int = 200,
    mean_nnz: int = 12,
    seed: int = 0,
    prefix: str = "d",
    skew: float = 1.1,
) -> SparseCollection:
    """``n`` vectors with Zipf-like term popularity and log-normal weights.

    Popular terms give long posting lists (several blocks each); log-normal weights give the
    heavy-tailed values of learned sparse vectors.
    """
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, vocab_size + 1) ** skew
    popularity /= popularity.sum()
    rows = []
    for _ in range(n):
        size = int(np.clip(rng.poisson(mean_nnz), 1, vocab_size))
        terms = rng.choice(vocab_size, size=size, replace=False, p=popularity)
        rows.append((terms, rng.lognormal(0.0, 0.7, size=size).astype(np.float32)))
    return SparseCollection.from_rows(
        [f"{prefix}{i}" for i in range(n)], rows, VectorMetadata(vocab_size)
    )


def dense(collection: SparseCollection) -> np.ndarray:
    """The collection as a dense float64 matrix: the plain reference for dot products."""
    matrix = np.zeros((len(collection), collection.vocab_size))
    for i in range(len(collection)):
        terms, weights = collection.row(i)
        matrix[i, terms] = weights
    return matrix
