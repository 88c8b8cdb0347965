"""Static pruning of the posting lists (Seismic, SIGIR 2024, Section 4.1).

Learned sparse weights concentrate a document's meaning in few large entries, so a posting list
keeps only its largest entries: the documents for which the term matters most. The reference
(``inverted_index.rs``) offers two strategies, both here:

- **fixed size**: every list keeps its ``n_postings`` largest entries;
- **global threshold**: the ``n_postings * vocab_size`` largest entries of the whole collection
  are kept (on average ``n_postings`` per list, more for terms that matter more), and no list
  keeps more than ``int(n_postings * max_fraction)`` of them.

Ties are broken deterministically (entries of lower term id, then lower document position, win
a tie at the global threshold; lower document position wins within a list), so a build is
reproducible. Each pruned list comes out sorted by decreasing value, the order the
clustering step samples its centroids from.
"""

from __future__ import annotations

import numpy as np
from lsr.index.forward import ForwardIndex, decode
from numba import njit, prange

STRATEGIES = ("global_threshold", "fixed_size")


@njit(nogil=True, cache=True)
def _invert(indptr, terms, values, vocab_size):
    """Term-major copy of the forward index: offsets, documents (increasing), float32 values."""
    counts = np.zeros(vocab_size + 1, dtype=np.int64)
    for p in range(len(terms)):
        counts[terms[p] + 1] += 1
    offsets = np.cumsum(counts)
    cursor = offsets[:-1].copy()
    docs = np.empty(len(terms), dtype=np.int32)
    weights = np.empty(len(terms), dtype=np.float32)
    for d in range(len(indptr) - 1):
        for p in range(indptr[d], indptr[d + 1]):
            slot = cursor[terms[p]]
            cursor[terms[p]] += 1
            docs[slot] = d
            weights[slot] = decode(values, p)
    return offsets, docs, weights


@njit(nogil=True, cache=True, parallel=True)
def _largest_per_list(offsets, docs, weights, keep, cap):
    """Per list, the kept entries sorted by decreasing weight (ties: lower document), at most
    ``cap`` of them; returns the new offsets and documents."""
    n_lists = len(offsets) - 1
    sizes = np.zeros(n_lists + 1, dtype=np.int64)
    for t in prange(n_lists):
        kept = 0
        for p in range(offsets[t], offsets[t + 1]):
            kept += keep[p]
        sizes[t + 1] = min(kept, cap)
    new_offsets = np.cumsum(sizes)
    new_docs = np.empty(new_offsets[-1], dtype=np.int32)
    for t in prange(n_lists):
        lo, hi = offsets[t], offsets[t + 1]
        chosen = np.flatnonzero(keep[lo:hi])
        # Entries are in increasing document order, so a stable sort breaks ties by document.
        order = np.argsort(-weights[lo:hi][chosen], kind="mergesort")
        n = new_offsets[t + 1] - new_offsets[t]
        for i in range(n):
            new_docs[new_offsets[t] + i] = docs[lo + chosen[order[i]]]
    return new_offsets, new_docs


def _global_keep(weights: np.ndarray, total: int) -> np.ndarray:
    """Mask of the ``total`` largest weights; ties at the threshold go to earlier entries."""
    if total >= len(weights):
        return np.ones(len(weights), dtype=np.bool_)
    threshold = np.partition(weights, len(weights) - total)[len(weights) - total]
    keep = weights > threshold
    at_threshold = np.flatnonzero(weights == threshold)
    keep[at_threshold[: total - int(keep.sum())]] = True
    return keep


def prune(
    forward: ForwardIndex, strategy: str, n_postings: int, max_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pruned posting lists: ``offsets`` (int64, vocab+1) and documents (int32), each list
    sorted by decreasing weight."""
    offsets, docs, weights = _invert(
        forward.indptr, forward.terms, forward.values, forward.vocab_size
    )
    if strategy == "fixed_size":
        keep = np.ones(len(docs), dtype=np.bool_)
        cap = n_postings
    else:
        keep = _global_keep(weights, n_postings * forward.vocab_size)
        cap = int(n_postings * max_fraction)
    return _largest_per_list(offsets, docs, weights, keep, cap)
