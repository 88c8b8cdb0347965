"""The top-k heap against sorting."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from lsr.index.topk import heap_drain, heap_offer


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 5), min_size=0, max_size=40),
    k=st.integers(1, 10),
)
def test_heap_keeps_the_k_best_in_order(values, k):
    scores = np.empty(k, np.float32)
    docs = np.empty(k, np.int64)
    size = 0
    order = np.random.default_rng(len(values)).permutation(len(values))
    for doc in order:
        size = heap_offer(scores, docs, size, k, np.float32(values[doc]), np.int64(doc))
    out_scores = np.empty(k, np.float32)
    out_docs = np.empty(k, np.int64)
    heap_drain(scores, docs, size, out_scores, out_docs)
    expected = sorted(range(len(values)), key=lambda d: (-values[d], d))[:k]
    assert out_docs[: len(expected)].tolist() == expected
    assert (out_docs[len(expected) :] == -1).all()
