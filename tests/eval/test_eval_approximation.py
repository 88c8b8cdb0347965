"""eval/approximation.py: accuracy@k of approximate against exact results."""

from __future__ import annotations

import numpy as np
import pytest
from lsr.eval.approximation import accuracy_at_k, exact_reference
from lsr.index import BuildConfig, ExactIndex, SearchResults, SeismicIndex

from lsr.vectors import SparseCollection, VectorMetadata

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


def test_reference_is_exact_search_over_the_stored_float16_weights():
    """Nine clear winners, then two documents whose float32 order float16 rounding turns into
    a tie (1.0001 and 1.0004 both store as 1.0): exact search on float32 ranks d10 tenth, on the
    stored weights d9. A Seismic index that misses nothing has accuracy 1 against the latter."""
    meta = VectorMetadata(4)
    rows = [([0], [2.0])] * 9 + [([0], [1.0001]), ([0], [1.0004])]
    docs = SparseCollection.from_rows([f"d{i}" for i in range(11)], rows, meta)
    queries = SparseCollection.from_rows(["q"], [([0], [1.0])], meta)
    index = SeismicIndex.build(docs, BuildConfig(n_postings=100, value_dtype="float16"))
    found = index.search_batch(queries, k=10, heap_factor=1.0)
    float32_exact = ExactIndex(docs).search_batch(queries, k=10)
    assert "d10" in float32_exact.to_dict()["q"] and "d10" not in found.to_dict()["q"]
    assert accuracy_at_k(found, float32_exact) == pytest.approx(0.9)
    assert accuracy_at_k(found, exact_reference(index, queries)) == 1.0
