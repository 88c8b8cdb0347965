"""ExactIndex against a dense numpy dot product."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from index_data import dense, random_collection
from lsr.index import ExactIndex
from lsr.index.forward import dot_dense

from lsr.errors import InputError
from lsr.vectors import SparseCollection, VectorMetadata


def reference_topk(docs, queries, k):
    """Positions and float64 scores of the k best matching documents, ties by lower position."""
    scores = dense(queries) @ dense(docs).T
    matches = (dense(queries) > 0).astype(float) @ (dense(docs) > 0).T > 0
    result = []
    for q in range(len(queries)):
        candidates = np.flatnonzero(matches[q])
        order = np.lexsort((candidates, -scores[q, candidates]))[:k]
        result.append((candidates[order], scores[q, candidates[order]]))
    return result


@settings(max_examples=25, deadline=None)
@given(
    n_docs=st.integers(1, 60),
    n_queries=st.integers(1, 6),
    k=st.integers(1, 12),
    seed=st.integers(0, 10_000),
)
def test_scores_match_dense_dot_product(n_docs, n_queries, k, seed):
    docs = random_collection(n_docs, vocab_size=40, mean_nnz=6, seed=seed)
    queries = random_collection(n_queries, vocab_size=40, mean_nnz=4, seed=seed + 1, prefix="q")
    results = ExactIndex(docs).search_batch(queries, k=k)
    for q, (positions, scores) in enumerate(reference_topk(docs, queries, k)):
        hits = results.docs[q] >= 0
        assert hits.sum() == len(positions)
        np.testing.assert_allclose(results.scores[q][hits], scores, rtol=1e-5)
        returned = dense(queries)[q] @ dense(docs)[results.docs[q][hits]].T
        np.testing.assert_allclose(results.scores[q][hits], returned, rtol=1e-5)


def canonical_topk(docs, query_terms, query_weights, k):
    """Positions and scores of the k best matching documents under the canonical score
    (:func:`~index.forward.dot_dense`, what every searcher returns), ties by lower position."""
    q_dense = np.zeros(docs.vocab_size, dtype=np.float32)
    q_dense[query_terms] = query_weights
    values = np.ascontiguousarray(docs.values, dtype=np.float32)
    matching = [d for d in range(len(docs)) if q_dense[docs.row(d)[0]].any()]
    scores = {
        d: dot_dense(docs.indices, values, docs.indptr[d], docs.indptr[d + 1], q_dense)
        for d in matching
    }
    best = sorted(matching, key=lambda d: (-scores[d], d))[:k]
    return best, [scores[d] for d in best]


@settings(max_examples=40, deadline=None)
@given(
    n_docs=st.integers(1, 700),
    vocab_size=st.integers(2, 60),
    k=st.integers(1, 40),
    ties=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_top_k_over_many_chunks_equals_the_canonical_ranking(n_docs, vocab_size, k, ties, seed):
    """Collections of many touched-flag chunks (64 documents each), few of them or all of them
    holding matches, with and without tied scores: the same documents in the same order, with
    the same bits, as ranking every matching document by its canonical score."""
    docs = random_collection(n_docs, vocab_size=vocab_size, mean_nnz=3, seed=seed)
    if ties:  # a handful of distinct weights: many documents score alike
        docs = SparseCollection(
            docs.ids, docs.indptr, docs.indices, np.ceil(docs.values), docs.metadata
        )
    queries = random_collection(3, vocab_size=vocab_size, mean_nnz=2, seed=seed + 1, prefix="q")
    index = ExactIndex(docs)
    results = index.search_batch(queries, k=k)
    for q in range(len(queries)):
        positions, scores = canonical_topk(docs, *queries.row(q), k)
        hits = results.docs[q] >= 0
        assert results.docs[q][hits].tolist() == positions
        assert results.scores[q][hits].tolist() == scores
        ids, single = index.search(*queries.row(q), k=k)
        assert ids == [docs.ids[d] for d in positions] and single.tolist() == scores


def test_rows_are_padded_when_fewer_hits_than_k():
    docs = random_collection(5, vocab_size=30, mean_nnz=2, seed=3)
    queries = random_collection(3, vocab_size=30, mean_nnz=2, seed=4, prefix="q")
    results = ExactIndex(docs).search_batch(queries, k=20)
    for q, (positions, _) in enumerate(reference_topk(docs, queries, 20)):
        assert list(results.docs[q][: len(positions)]) == list(positions)
        assert (results.docs[q][len(positions) :] == -1).all()
        assert (results.scores[q][len(positions) :] == 0).all()


def test_ties_break_by_lower_position():
    meta = VectorMetadata(5)
    docs = SparseCollection.from_rows(
        ["a", "b", "c", "d"], [([1], [2.0]), ([1], [3.0]), ([1], [2.0]), ([1], [2.0])], meta
    )
    ids, scores = ExactIndex(docs).search(np.array([1]), np.array([1.0]), k=3)
    assert ids == ["b", "a", "c"]
    assert scores.tolist() == [3.0, 2.0, 2.0]


def test_single_query_matches_batch():
    docs = random_collection(80, seed=5)
    queries = random_collection(4, seed=6, prefix="q")
    index = ExactIndex(docs)
    batch = index.search_batch(queries, k=7)
    for q in range(len(queries)):
        ids, scores = index.search(*queries.row(q), k=7)
        assert ids == [doc_id for doc_id, _ in batch.hits(q)]
        assert scores.dtype == np.float32


def test_rejects_other_vocabulary():
    index = ExactIndex(random_collection(10, vocab_size=50))
    with pytest.raises(InputError, match="vocab_size"):
        index.search_batch(random_collection(2, vocab_size=60, prefix="q"))


def test_rejects_term_outside_vocabulary():
    index = ExactIndex(random_collection(10, vocab_size=50))
    with pytest.raises(InputError, match="term id 50"):
        index.search(np.array([3, 50]), np.array([1.0, 1.0]))


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_rejects_bad_k(k):
    index = ExactIndex(random_collection(10))
    with pytest.raises(InputError, match="k must be"):
        index.search(np.array([1]), np.array([1.0]), k=k)
