"""The blocks of all of a query's lists, best summary score first (``global_order``).

Seismic (SIGIR 2024, Algorithm 2) visits the ``query_cut`` posting lists one after the other and
skips a block when its summary score is below ``heap_factor`` times the smallest score in the
heap. The blocks of the first lists are then scored while the heap's threshold is still low.
Here the summaries of every list are scored first (the same work), and the blocks are visited
in one order of decreasing summary score across all the lists. The skip test is unchanged, but
since the threshold only rises and every later block scores at most as high, the first block
that fails it ends the query: nothing after it could pass.

The order is a binary min-heap of ``uint64`` keys, popped only as far as the query goes (most
blocks are never popped, so a full sort would be wasted): the high 32 bits are the summary
score's bits mapped to an unsigned order and inverted (a higher score is a smaller key), the low
32 bits the block's place in the lists' own order (heaviest list first, then block order). Keys
are therefore distinct and ties are broken by that place alone: the order depends on nothing
but the index and the query.
"""

from __future__ import annotations

import numpy as np
from lsr.index.summary import score_summaries
from numba import njit

_LOW = np.uint64(0xFFFFFFFF)
_SIGN = np.uint32(0x80000000)


@njit(nogil=True, cache=True, inline="always")
def _descending(bits):
    """A float32's bits as a uint32 that sorts the opposite way to the float (IEEE 754: a
    non-negative float orders as its bits with the sign bit set, a negative one as its bits
    inverted; inverting that ascending map makes it descending)."""
    ascending = ~bits if bits & _SIGN else bits | _SIGN
    return ~ascending


@njit(nogil=True, cache=True)
def _sift_down(keys, size, i):
    while True:
        child = 2 * i + 1
        if child >= size:
            return
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[i] <= keys[child]:
            return
        keys[i], keys[child] = keys[child], keys[i]
        i = child


@njit(nogil=True, cache=True)
def pop_best(keys, size):
    """Remove the best block from the heap of ``size`` keys: ``(its place, the new size)``."""
    place = np.int64(keys[0] & _LOW)
    size -= 1
    keys[0] = keys[size]
    _sift_down(keys, size, 0)
    return place, size


@njit(nogil=True, cache=True)
def heap_of(scores):
    """The heap keys (:func:`pop_best`) of places ``0 .. len(scores)`` by decreasing score,
    ties by place. ``-0.0`` is read as ``0.0``, which it equals."""
    n = len(scores)
    keys = np.empty(n, dtype=np.uint64)
    bits = (scores + np.float32(0.0)).view(np.uint32)  # -0.0 + 0.0 is +0.0
    for i in range(n):
        keys[i] = (np.uint64(_descending(bits[i])) << np.uint64(32)) | np.uint64(i)
    for i in range(n // 2 - 1, -1, -1):
        _sift_down(keys, n, i)
    return keys


@njit(nogil=True, cache=True)
def ordered_blocks(summaries, list_block_ptr, q_terms, q_weights, lists):
    """The blocks of the lists of terms ``q_terms[lists]`` and their summary scores, in the
    lists' order (``(blocks, scores)``, global block ids), and the keys of a heap (:func:`pop_best`)
    that yields their places by decreasing score."""
    n = 0
    for rank in range(len(lists)):
        t = q_terms[lists[rank]]
        n += list_block_ptr[t + 1] - list_block_ptr[t]
    blocks = np.empty(n, dtype=np.int64)
    scores = np.empty(n, dtype=np.float32)
    at = 0
    for rank in range(len(lists)):
        t = q_terms[lists[rank]]
        b0, b1 = list_block_ptr[t], list_block_ptr[t + 1]
        score_summaries(summaries, t, b0, b1, q_terms, q_weights, scores[at : at + b1 - b0])
        for i in range(b1 - b0):
            blocks[at + i] = b0 + i
        at += b1 - b0
    return blocks, scores, heap_of(scores)
