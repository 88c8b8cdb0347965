"""Search parameters adapted to a filter's selectivity (index.selectivity): the formula by hand,
and on a pruned Seismic segment a 10% filter reaching the accuracy@10 the module claims against
a numpy brute force of the exact filtered top-10, while an explicit query_cut is used as given."""

from __future__ import annotations

import numpy as np
import pytest
from index_data import dense, random_collection
from lsr.index import BuildConfig, bitset
from lsr.index.config import SearchDefaults, SearchParams
from lsr.index.living import LivingIndex
from lsr.index.selectivity import adapted, scaled_query_cut

N_DOCS = 10_000
TENTH = {"must": [{"key": "bucket", "range": {"lt": 10}}]}


@pytest.mark.parametrize(
    ("share", "expected"),
    [(1.0, 10), (0.5, 16), (0.25, 23), (0.1, 40), (0.04, 40), (0.001, 40)],
)
def test_query_cut_grows_as_the_share_falls_up_to_the_cap(share, expected):
    # ceil(10 x share ** -0.6), at most 4 x 10: 15.16 -> 16, 22.97 -> 23, 39.8 -> 40, 69 -> 40.
    assert scaled_query_cut(10, share) == expected


def test_nothing_left_out_keeps_the_parameters():
    params = SearchParams(query_cut=7)
    assert adapted(params, 100, 100) is params
    assert adapted(params, 10, 100).query_cut == scaled_query_cut(7, 0.1)


@pytest.fixture(scope="module")
def pruned(tmp_path_factory):
    """One Seismic segment of 10,000 documents pruned to 100 postings per list, queries of ~40
    entries, a tenth of the documents in bucket < 10: unfiltered, query_cut 10 finds ~0.98 of
    the top-10; at 10% allowed ~0.92, and the scaled query_cut (40) ~0.99."""
    docs = random_collection(N_DOCS, vocab_size=2000, mean_nnz=40, seed=3, skew=0.8)
    buckets = np.random.default_rng(4).integers(0, 100, size=N_DOCS)
    attributes = {d: {"bucket": int(b)} for d, b in zip(docs.ids, buckets.tolist())}
    directory = tmp_path_factory.mktemp("selectivity") / "index"
    config = BuildConfig(n_postings=100)
    with LivingIndex.open(directory, docs.metadata, config, SearchDefaults()) as index:
        index.add(docs, attributes)
    queries = random_collection(100, vocab_size=2000, mean_nnz=40, seed=5, skew=0.8, prefix="q")
    reader = LivingIndex.open(directory)
    yield reader, docs, queries, buckets < 10
    reader.close()


def accuracy(results, truth: np.ndarray) -> float:
    found = [set(results.docs[q][results.docs[q] >= 0].tolist()) for q in range(len(truth))]
    return float(np.mean([len(f & set(t.tolist())) / len(t) for f, t in zip(found, truth)]))


def exact_filtered_top10(docs, queries, allowed: np.ndarray) -> np.ndarray:
    scores = dense(queries) @ dense(docs).T
    scores[:, ~allowed] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :10]


def test_a_tenth_allowed_reaches_the_claimed_accuracy(pruned):
    index, docs, queries, allowed = pruned
    truth = exact_filtered_top10(docs, queries, allowed)
    adaptive = accuracy(index.search_batch(queries, k=10, filter=TENTH), truth)
    fixed = accuracy(index.search_batch(queries, k=10, query_cut=10, filter=TENTH), truth)
    assert adaptive >= 0.95 > fixed


@pytest.mark.parametrize(("given", "used"), [(None, 40), (10, 10), (25, 25)])
def test_the_default_is_scaled_an_explicit_query_cut_used_as_given(pruned, given, used):
    index, _, queries, allowed = pruned
    segment = index.reader.parts[0].segment.seismic
    found = index.search_batch(queries, k=10, query_cut=given, filter=TENTH)
    excluded = bitset.from_mask(~allowed)
    direct = segment.search_batch(queries, k=10, query_cut=used, exclude=excluded)
    np.testing.assert_array_equal(found.docs, direct.docs)
