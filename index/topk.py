"""A bounded min-heap of the k best ``(score, document)`` pairs, as Numba kernels over arrays.

The heap lives in two caller-owned arrays (``scores`` float32, ``docs`` int64) so that the search
kernels allocate nothing per document. The root is the *worst* kept pair, which is what both the
top-k insertion test and Seismic's block-skipping test compare against (Seismic's
``topk_selectors.rs`` plays the same role).

Order is total and deterministic: a pair is better when its score is higher, or when the scores
are equal and its document position is lower. Every searcher therefore returns the same ranking
for the same scores, whatever order it visits documents in.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True, inline="always")
def heap_worse(score_a, doc_a, score_b, doc_b) -> bool:
    """Whether pair ``a`` ranks below pair ``b`` (the module's total order)."""
    return score_a < score_b or (score_a == score_b and doc_a > doc_b)


@njit(nogil=True, cache=True)
def _sift_down(scores, docs, size, i) -> None:
    while True:
        child = 2 * i + 1
        if child >= size:
            return
        right = child + 1
        if right < size and heap_worse(scores[right], docs[right], scores[child], docs[child]):
            child = right
        if not heap_worse(scores[child], docs[child], scores[i], docs[i]):
            return
        scores[i], scores[child] = scores[child], scores[i]
        docs[i], docs[child] = docs[child], docs[i]
        i = child


@njit(nogil=True, cache=True)
def heap_offer(scores, docs, size, k, score, doc) -> int:
    """Offer a pair to a heap holding ``size`` of at most ``k`` pairs; return the new size."""
    if size < k:
        i = size
        scores[i] = score
        docs[i] = doc
        while i > 0:
            parent = (i - 1) // 2
            if not heap_worse(scores[i], docs[i], scores[parent], docs[parent]):
                break
            scores[i], scores[parent] = scores[parent], scores[i]
            docs[i], docs[parent] = docs[parent], docs[i]
            i = parent
        return size + 1
    if heap_worse(score, doc, scores[0], docs[0]):
        return size
    scores[0] = score
    docs[0] = doc
    _sift_down(scores, docs, size, 0)
    return size


@njit(nogil=True, cache=True)
def heap_drain(scores, docs, size, out_scores, out_docs) -> None:
    """Empty the heap into ``out_*`` best first; slots past ``size`` become ``-1`` / ``0``."""
    for i in range(size, len(out_docs)):
        out_docs[i] = -1
        out_scores[i] = np.float32(0.0)
    while size > 0:
        size -= 1
        out_scores[size] = scores[0]
        out_docs[size] = docs[0]
        scores[0] = scores[size]
        docs[0] = docs[size]
        _sift_down(scores, docs, size, 0)
