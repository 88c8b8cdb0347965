"""Static pruning of the posting lists (Seismic, SIGIR 2024, Section 4.1).

Learned sparse weights concentrate a document's meaning in few large entries, so a posting list
keeps only its largest entries: the documents for which the term matters most. The reference
(``inverted_index.rs``) offers two strategies, both here:

- **fixed size**: every list keeps its ``n_postings`` largest entries;
- **global threshold**: the ``n_postings * vocab_size`` largest entries of the whole collection
  are kept (on average ``n_postings`` per list, more for terms that matter more), and no list
  keeps more than ``int(n_postings * max_fraction)`` of them.

Float16 weights (the default storage) take a path that never copies the whole collection: their
bit patterns order as their values do (weights are non-negative), so a 65,536-bin histogram
gives the global threshold exactly, and only the entries kept are inverted (at most
``n_postings * vocab_size``, instead of every entry as float32 plus its document: 8 bytes per
non-zero). The result is the same, tie for tie (tested against the float32 path).

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


def _threshold_bits(bits: np.ndarray, total: int) -> int:
    """The float16 bit pattern of the ``total``-th largest weight (its value's rank: patterns of
    non-negative halves order as their values)."""
    counts = np.bincount(bits, minlength=1 << 16)
    below = np.cumsum(counts)  # entries at or below each pattern
    return int(np.searchsorted(below, len(bits) - total + 1))


@njit(nogil=True, cache=True)
def _count_kept(terms, bits, vocab_size, threshold):
    """Entries of each list above ``threshold``, and equal to it."""
    above = np.zeros(vocab_size, dtype=np.int64)
    equal = np.zeros(vocab_size, dtype=np.int64)
    for p in range(len(terms)):
        if bits[p] > threshold:
            above[terms[p]] += 1
        elif bits[p] == threshold:
            equal[terms[p]] += 1
    return above, equal


@njit(nogil=True, cache=True)
def _fill_kept(indptr, terms, values, offsets, quota, threshold):
    """Documents (increasing in each list) and float32 weights of the kept entries: all above
    ``threshold`` and, of those equal to it, the first ``quota[term]`` of each list."""
    cursor = offsets[:-1].copy()
    docs = np.empty(offsets[-1], dtype=np.int32)
    weights = np.empty(offsets[-1], dtype=np.float32)
    for d in range(len(indptr) - 1):
        for p in range(indptr[d], indptr[d + 1]):
            term = terms[p]
            if values[p] < threshold:
                continue
            if values[p] == threshold:
                if quota[term] == 0:
                    continue
                quota[term] -= 1
            docs[cursor[term]] = d
            weights[cursor[term]] = decode(values, p)
            cursor[term] += 1
    return docs, weights


def _kept_lists(forward: ForwardIndex, total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets, documents and weights of the entries the global threshold keeps (float16)."""
    bits = forward.values
    threshold = _threshold_bits(bits, total)
    above, equal = _count_kept(forward.terms, bits, forward.vocab_size, threshold)
    # The budget left at the threshold goes to lower terms first (then lower documents, as
    # _global_keep breaks ties over the term-major array).
    left = total - int(above.sum())
    taken = np.minimum(equal, np.maximum(left - (np.cumsum(equal) - equal), 0))
    offsets = np.zeros(forward.vocab_size + 1, dtype=np.int64)
    np.cumsum(above + taken, out=offsets[1:])
    docs, weights = _fill_kept(
        forward.indptr, forward.terms, bits, offsets, taken, np.uint16(threshold)
    )
    return offsets, docs, weights


def prune(
    forward: ForwardIndex, strategy: str, n_postings: int, max_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pruned posting lists: ``offsets`` (int64, vocab+1) and documents (int32), each list
    sorted by decreasing weight."""
    total = n_postings * forward.vocab_size
    if strategy == "global_threshold" and forward.value_dtype == "float16" and total < forward.nnz:
        offsets, docs, weights = _kept_lists(forward, total)
        keep = np.ones(len(docs), dtype=np.bool_)
        return _largest_per_list(offsets, docs, weights, keep, int(n_postings * max_fraction))
    offsets, docs, weights = _invert(
        forward.indptr, forward.terms, forward.values, forward.vocab_size
    )
    if strategy == "fixed_size":
        keep = np.ones(len(docs), dtype=np.bool_)
        cap = n_postings
    else:
        keep = _global_keep(weights, total)
        cap = int(n_postings * max_fraction)
    return _largest_per_list(offsets, docs, weights, keep, cap)
