"""eval/approximation.py: accuracy@k of approximate against exact results."""

from __future__ import annotations

import numpy as np
import pytest
from lsr.eval.approximation import accuracy_at_k
from lsr.index import SearchResults

DOC_IDS = [str(i) for i in range(6)]


def _results(rows):
    docs = np.array(rows, dtype=np.int64)
    return SearchResults(
        [f"q{i}" for i in range(len(rows))], docs, np.ones(docs.shape, np.float32), DOC_IDS
    )


def test_overlap_is_averaged_over_queries():
    exact = _results([[0, 1, 2], [3, 4, 5]])
    approximate = _results([[2, 1, 0], [3, 0, 1]])  # same set (order ignored); one of three
    assert accuracy_at_k(approximate, exact, k=3) == pytest.approx((1 + 1 / 3) / 2)


def test_short_exact_lists_are_the_denominator():
    exact = _results([[0, -1, -1]])
    assert accuracy_at_k(_results([[0, 5, -1]]), exact, k=3) == 1.0


def test_different_queries_are_refused():
    exact = _results([[0, 1]])
    other = SearchResults(["x"], exact.docs, exact.scores, DOC_IDS)
    with pytest.raises(ValueError, match="same queries"):
        accuracy_at_k(other, exact, k=2)
