"""index.scan (exact top-k over listed documents) and SeismicIndex's ``exclude``, both against
a dense float64 brute force over the allowed documents."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from index_data import dense, random_collection
from lsr.index import BuildConfig, SeismicIndex, bitset
from lsr.index.scan import scan

from lsr.errors import InputError

DOCS = random_collection(600, seed=3)
QUERIES = random_collection(12, seed=4, prefix="q")
# Nothing pruned and every block visited (heap_factor 0): Seismic is exact, so that excluding
# documents can be checked hit for hit.
INDEX = SeismicIndex.build(DOCS, BuildConfig(n_postings=10**6, value_dtype="float32"))
MATRIX = dense(DOCS) @ dense(QUERIES).T  # [docs, queries]


def brute_force(allowed: np.ndarray, q: int, k: int) -> np.ndarray:
    """Scores of the k best allowed documents with a positive score."""
    scores = MATRIX[allowed, q]
    return np.sort(scores[scores > 0])[::-1][:k]


def check(docs, scores, allowed, k):
    for q in range(len(QUERIES)):
        found = docs[q] >= 0
        assert set(docs[q][found].tolist()) <= set(allowed.tolist())
        expected = brute_force(allowed, q, k)
        np.testing.assert_allclose(scores[q][found], expected, rtol=1e-5)
        np.testing.assert_allclose(MATRIX[docs[q][found], q], scores[q][found], rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 1.0), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_scan_is_exact_over_the_allowed_documents(fraction, k, seed):
    mask = np.random.default_rng(seed).random(len(DOCS)) < fraction
    allowed = np.flatnonzero(mask)
    queries = (QUERIES.indptr, QUERIES.indices, QUERIES.values)
    docs, scores = scan(INDEX.forward, allowed, queries, k)
    check(docs, scores, allowed, k)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 1.0), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_seismic_never_returns_excluded_documents(fraction, k, seed):
    mask = np.random.default_rng(seed).random(len(DOCS)) < fraction
    results = INDEX.search_batch(
        QUERIES, k=k, heap_factor=0.0, query_cut=1000, exclude=bitset.from_mask(~mask)
    )
    check(results.docs, results.scores, np.flatnonzero(mask), k)


def test_exclusions_do_not_leak_into_the_next_search():
    everything = INDEX.search_batch(QUERIES, k=10)
    INDEX.search_batch(QUERIES, k=10, exclude=bitset.from_mask(np.ones(len(DOCS), bool)))
    for q in range(3):
        INDEX.search(*QUERIES.row(q), k=10, exclude=bitset.from_mask(np.ones(len(DOCS), bool)))
    again = INDEX.search_batch(QUERIES, k=10)
    assert (again.docs == everything.docs).all()
    ids, _ = INDEX.search(*QUERIES.row(0), k=10)
    assert ids == [DOCS.ids[d] for d in everything.docs[0]]


def test_a_bitset_of_the_wrong_size_is_refused():
    with pytest.raises(InputError, match="exclude must be a uint64 bitset of 10 words"):
        INDEX.search(*QUERIES.row(0), k=3, exclude=bitset.empty(10))
