"""Static pruning, both strategies, against hand computations."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from lsr.index.forward import ForwardIndex
from lsr.index.pruning import prune

from lsr.vectors import SparseCollection, VectorMetadata

# Term 0: docs 0..4 with weights 5, 1, 4, 2, 3; term 1: docs 0, 2 with 0.5, 6; term 2: doc 4, 0.1.
ROWS = [
    ([0, 1], [5.0, 0.5]),
    ([0], [1.0]),
    ([0, 1], [4.0, 6.0]),
    ([0], [2.0]),
    ([0, 2], [3.0, 0.1]),
]


def forward(rows=ROWS, vocab_size=3):
    ids = [f"d{i}" for i in range(len(rows))]
    collection = SparseCollection.from_rows(ids, rows, VectorMetadata(vocab_size))
    return ForwardIndex.from_collection(collection, "float32")


def lists(offsets, docs):
    return [docs[offsets[t] : offsets[t + 1]].tolist() for t in range(len(offsets) - 1)]


def test_fixed_size_keeps_the_largest_of_each_list_by_decreasing_weight():
    offsets, docs = prune(forward(), "fixed_size", n_postings=3, max_fraction=1.5)
    assert lists(offsets, docs) == [[0, 2, 4], [2, 0], [4]]


def test_global_threshold_keeps_the_largest_of_the_collection():
    # n_postings * vocab = 1 * 3 = 3 entries overall: 6 (term 1), 5 and 4 (term 0).
    offsets, docs = prune(forward(), "global_threshold", n_postings=1, max_fraction=2.0)
    assert lists(offsets, docs) == [[0, 2], [2], []]


def test_global_threshold_caps_each_list():
    # 2 * 3 = 6 entries overall (6, 5, 4, 3, 2, 1), but at most int(2 * 1.5) = 3 per list.
    offsets, docs = prune(forward(), "global_threshold", n_postings=2, max_fraction=1.5)
    assert lists(offsets, docs) == [[0, 2, 4], [2], []]


def test_global_threshold_ties_are_deterministic():
    rows = [([0], [1.0]), ([0], [1.0]), ([1], [1.0]), ([1], [1.0])]
    offsets, docs = prune(forward(rows, vocab_size=2), "global_threshold", 1, 10.0)
    # Two of the four equal entries survive: those of the lower term, lower documents first.
    assert lists(offsets, docs) == [[0, 1], []]


def test_nothing_is_pruned_when_the_budget_exceeds_the_collection():
    offsets, _ = prune(forward(), "global_threshold", n_postings=100, max_fraction=1.5)
    assert np.diff(offsets).tolist() == [5, 2, 1]


@settings(max_examples=40, deadline=None)
@given(
    n_docs=st.integers(1, 40),
    vocab=st.integers(1, 12),
    n_postings=st.integers(1, 6),
    max_fraction=st.sampled_from([1.0, 1.5, 3.0]),
    levels=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_float16_global_threshold_equals_the_float32_path(
    n_docs, vocab, n_postings, max_fraction, levels, seed
):
    """The histogram path of float16 weights keeps the lists of the float32 path, ties included
    (few distinct weights make many ties at the threshold)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_docs):
        terms = rng.choice(vocab, size=int(rng.integers(1, vocab + 1)), replace=False)
        rows.append((terms, rng.integers(1, levels + 1, size=len(terms)) * 0.25))
    ids = [f"d{i}" for i in range(n_docs)]
    collection = SparseCollection.from_rows(ids, rows, VectorMetadata(vocab))
    half = ForwardIndex.from_collection(collection, "float16")
    full = ForwardIndex.from_collection(collection, "float32")
    expected = prune(full, "global_threshold", n_postings, max_fraction)
    found = prune(half, "global_threshold", n_postings, max_fraction)
    assert lists(*found) == lists(*expected)
