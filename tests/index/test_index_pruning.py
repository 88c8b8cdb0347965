"""Static pruning, both strategies, against hand computations."""

from __future__ import annotations

import numpy as np
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
