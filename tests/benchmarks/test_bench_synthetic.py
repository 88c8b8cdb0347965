"""The synthetic generator: canonical output, seeded, and the SPLADE-like statistics it promises."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.exact_reference import ground_truth
from benchmarks.synthetic import SyntheticConfig, _Alias, generate
from lsr.vectors import SparseCollection

CONFIG = SyntheticConfig(chunk_size=1000)


@pytest.fixture(scope="module")
def sample() -> tuple[SparseCollection, SparseCollection]:
    return generate(3000, 200, CONFIG)


def test_rows_are_canonical(sample):
    docs, _ = sample
    again = SparseCollection.from_csr(
        docs.ids, docs.indptr, docs.indices, docs.values, docs.metadata
    )
    np.testing.assert_array_equal(again.indices, docs.indices)
    np.testing.assert_array_equal(again.values, docs.values)


def test_same_seed_same_vectors(sample):
    docs, queries = generate(3000, 200, CONFIG)
    np.testing.assert_array_equal(docs.indices, sample[0].indices)
    np.testing.assert_array_equal(queries.values, sample[1].values)


def test_other_seed_other_vectors(sample):
    docs, _ = generate(3000, 200, replace(CONFIG, seed=1))
    assert docs.nnz != sample[0].nnz or not np.array_equal(docs.indices, sample[0].indices)


def test_lengths_match_splade(sample):
    docs, queries = sample
    assert 120 <= docs.lengths().mean() <= 260
    assert 40 <= queries.lengths().mean() <= 60


def test_vocabulary_is_bert_sized(sample):
    docs, _ = sample
    assert docs.vocab_size == 30_522
    assert docs.indices.max() < 30_522


def test_near_universal_terms_are_in_most_documents(sample):
    docs, _ = sample
    df = np.bincount(docs.indices, minlength=docs.vocab_size) / len(docs)
    assert np.count_nonzero(df >= 0.5) >= CONFIG.n_universal


def test_term_popularity_is_skewed(sample):
    docs, _ = sample
    df = np.sort(np.bincount(docs.indices, minlength=docs.vocab_size))[::-1]
    top_percent = df[: len(df) // 100].sum() / df.sum()
    assert top_percent > 0.2  # a uniform law would give 0.01


def test_documents_of_a_topic_share_terms():
    # Two topics only: documents then overlap with half the collection far more than chance.
    docs, _ = generate(400, 1, replace(CONFIG, n_topics=2, topic_zipf_exponent=0.0))
    dense = np.zeros((len(docs), docs.vocab_size), dtype=bool)
    dense[np.repeat(np.arange(len(docs)), docs.lengths()), docs.indices] = True
    overlap = dense.astype(np.float32) @ dense.T.astype(np.float32)
    np.fill_diagonal(overlap, 0)
    ranked = np.sort(overlap, axis=1)[:, ::-1]
    assert np.median(ranked[:, :100].mean(1) / ranked[:, 250:].mean(1)) > 2


def test_weights_are_positive_and_skewed(sample):
    docs, _ = sample
    assert (docs.values > 0).all() and np.isfinite(docs.values).all()
    assert np.median(docs.values) < np.percentile(docs.values, 95) / 2


def test_three_query_terms_do_not_find_the_top_10(sample):
    # The trap of synthetic data: peaked queries make query_cut 3 enough. SciFact gives 0.33.
    docs, queries = sample
    full = ground_truth(docs, queries, 10, progress=False)
    rows = []
    for _, term_ids, weights in queries.rows():
        heaviest = np.sort(np.argsort(-weights)[:3])
        rows.append((term_ids[heaviest], weights[heaviest]))
    cut = SparseCollection.from_rows(queries.ids, rows, queries.metadata)
    found = ground_truth(docs, cut, 10, progress=False)
    shares = [len(set(a) & set(b)) / len(a) for a, b in zip(full, found) if len(a)]
    assert 0.2 < np.mean(shares) < 0.6


def test_alias_table_draws_with_the_given_probabilities():
    probabilities = np.array([0.5, 0.25, 0.125, 0.125])
    draws = _Alias(probabilities).draw(200_000, np.random.default_rng(0))
    np.testing.assert_allclose(np.bincount(draws) / len(draws), probabilities, atol=0.01)


def test_fingerprint_follows_parameters():
    assert CONFIG.fingerprint() == replace(CONFIG).fingerprint()
    assert CONFIG.fingerprint() != replace(CONFIG, query_sigma=0.5).fingerprint()
