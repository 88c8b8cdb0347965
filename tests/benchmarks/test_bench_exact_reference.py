"""scipy's exact top-k, checked against a dense numpy product."""

from __future__ import annotations

import numpy as np

from benchmarks.exact_reference import (
    csr_latencies,
    exact_top_k,
    forward_batches,
    ground_truth,
    top_k,
)
from benchmarks.synthetic import SyntheticConfig, generate


def test_ground_truth_is_the_dense_top_k():
    docs, queries = generate(500, 20, SyntheticConfig(vocab_size=2000, n_topics=5))
    dense_docs = np.zeros((len(docs), docs.vocab_size))
    dense_docs[np.repeat(np.arange(len(docs)), docs.lengths()), docs.indices] = docs.values
    truth = ground_truth(docs, queries, k=10, progress=False)
    for i, (_, term_ids, weights) in enumerate(queries.rows()):
        scores = dense_docs[:, term_ids] @ weights.astype(np.float64)
        np.testing.assert_allclose(scores[truth[i]], np.sort(scores)[::-1][:10])


def test_top_k_leaves_out_documents_without_a_shared_term():
    scores = np.array([0.0, 2.0, 0.0, 1.0])
    np.testing.assert_array_equal(top_k(scores, 10), [1, 3])


def test_csr_latencies_one_per_query():
    docs, queries = generate(200, 5, SyntheticConfig(vocab_size=1000, n_topics=3))
    seconds = csr_latencies(docs, queries)
    assert seconds.shape == (5,) and (seconds > 0).all()


def test_the_exact_top_k_of_a_forward_index_in_batches_equals_exact_search():
    from lsr.index.config import BuildConfig
    from lsr.index.seismic import SeismicIndex

    docs, queries = generate(500, 30, SyntheticConfig(seed=3))
    index = SeismicIndex.build(docs, BuildConfig(n_postings=50))
    expected = index.exact().search_batch(queries, k=10)
    rows = forward_batches(index.forward, 37)
    found, scores = exact_top_k(rows, queries, 10, progress=False)
    np.testing.assert_array_equal(found, expected.docs)
    np.testing.assert_allclose(scores, expected.scores, rtol=1e-5)
