"""index.shared_bound: the skip threshold the shards of one query share, and what it changes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from index_data import random_collection
from lsr.index.config import BuildConfig, SearchDefaults
from lsr.index.segmented import SegmentedIndex, merge_top_k
from lsr.index.sharded import ShardedIndex, build_sharded
from lsr.index.shared_bound import NO_BOUND, new_shared, publish, refresh
from lsr.index.topk import heap_offer

from lsr.errors import InputError
from lsr.vector_io import write_vectors
from lsr.vectors import SparseCollection, VectorMetadata

K = 5
scores = st.floats(-50, 50, width=32, allow_nan=False)


def _in_process(function, tasks):
    return map(function, tasks)


def _history(offers: list[float], k: int = K) -> list[np.ndarray]:
    """Every state of one searcher's published row as a heap of ``k`` takes ``offers``."""
    row = new_shared(1, 1, k)[0]
    heap_scores, heap_docs, size = np.empty(k, np.float32), np.empty(k, np.int64), 0
    states = [row[0].copy()]
    for doc, score in enumerate(offers):
        size = heap_offer(heap_scores, heap_docs, size, k, np.float32(score), np.int64(doc))
        publish(row, 0, heap_scores, size, k, np.empty(k, np.float32))
        states.append(row[0].copy())
    return states


@given(st.lists(scores, max_size=40))
@settings(max_examples=80, deadline=None)
def test_a_published_row_is_the_sorted_heap_and_every_place_only_rises(offers):
    states = _history(offers)
    for before, after in itertools.pairwise(states):
        assert np.all(after[:K] >= before[:K])
        assert after[K] == before[K] + 1
    best = np.sort(np.asarray(offers, np.float32))[::-1][:K]
    expected = np.concatenate([np.full(K - len(best), NO_BOUND), best[::-1]])
    np.testing.assert_array_equal(states[-1][:K], expected)


@given(st.lists(st.lists(scores, max_size=30), min_size=1, max_size=4), st.data())
@settings(max_examples=80, deadline=None)
def test_a_read_mixing_moments_never_exceeds_the_kth_best_of_the_documents_held(offers, data):
    """Each place read at its own moment (threads racing): the bound is at most the k-th best
    score of the documents the searchers hold at the end, never above the merged answer's."""
    histories = [_history(o) for o in offers]
    row = np.stack([h[-1] for h in histories])
    for s, history in enumerate(histories):
        for place in range(K + 1):
            moment = data.draw(st.integers(0, len(history) - 1))
            row[s, place] = history[moment][place]
    bound, _ = refresh(row, K, NO_BOUND, -1.0, np.empty(K, np.float32))
    held = np.sort(np.concatenate([h[-1][:K] for h in histories]))[::-1]
    assert bound <= held[K - 1]


def test_refresh_reads_the_kth_largest_of_all_rows_only_when_a_counter_moved():
    row = new_shared(1, 2, 3)[0]
    row[0] = [1.0, 4.0, 9.0, 1.0]
    row[1] = [NO_BOUND, 5.0, 6.0, 1.0]
    top = np.empty(3, np.float32)
    bound, seen = refresh(row, 3, NO_BOUND, -1.0, top)
    assert (bound, seen) == (5.0, 2.0)
    row[1, 0] = 8.0  # no publication counted: not read again
    assert refresh(row, 3, bound, seen, top) == (5.0, 2.0)
    row[1, 3] = 2.0
    assert refresh(row, 3, bound, seen, top) == (6.0, 3.0)


def test_a_shared_array_of_another_shape_or_slot_is_named(tmp_path):
    from lsr.index.seismic import SeismicIndex

    docs = random_collection(60, vocab_size=40, seed=1)
    index = SeismicIndex.build(docs, BuildConfig(n_postings=20))
    queries = random_collection(2, vocab_size=40, seed=2, prefix="q")
    with pytest.raises(InputError, match="slot 2"):
        index.search_batch(queries, k=K, shared=new_shared(2, 2, K), slot=2)
    with pytest.raises(InputError, match="k=4"):
        index.search_batch(queries, k=K, shared=new_shared(2, 2, 4), slot=0)
    with pytest.raises(InputError, match="rows of 2 queries"):
        index.search_batch(queries, k=K, shared=new_shared(3, 2, K), slot=0)


# -- on sharded indexes --------------------------------------------------------------------------


def _binary(n: int, vocab: int, seed: int) -> SparseCollection:
    """Documents whose weights are all 1 (every summary is then the exact union of its block's
    terms, so a summary score bounds its documents' scores exactly)."""
    base = random_collection(n, vocab_size=vocab, seed=seed)
    return SparseCollection(
        base.ids, base.indptr, base.indices, np.ones_like(base.values), VectorMetadata(vocab)
    )


def _integer_queries(n: int, vocab: int, seed: int) -> SparseCollection:
    """Queries of small integer weights: every score is an exact float32 sum, in any order."""
    base = random_collection(n, vocab_size=vocab, seed=seed, prefix="q")
    weights = np.random.default_rng(seed).integers(1, 8, len(base.values)).astype(np.float32)
    return SparseCollection(base.ids, base.indptr, base.indices, weights, VectorMetadata(vocab))


def _alone(index: ShardedIndex, queries, **search):
    """Every shard searched with its own heap only, the top-k merged."""
    found = []
    for part in index.parts:
        result = part.segment.seismic.search_batch(queries, k=K, **search)
        found.append((np.where(result.docs >= 0, result.docs + part.offset, -1), result.scores))
    return merge_top_k(found, len(queries), K)


@pytest.fixture(scope="module", params=[11, 12, 13])
def exact_bounds(tmp_path_factory, request):
    """A pruned sharded index (fixed_size, 12 postings per list per shard share) whose summaries
    are exact bounds: binary documents, summary_energy 1, float32 storage."""
    root = tmp_path_factory.mktemp("bounds")
    docs = _binary(300, 60, request.param)
    write_vectors(root / "docs.parquet", docs, row_group_size=64)
    config = BuildConfig(
        pruning="fixed_size", n_postings=36, summary_energy=1.0, value_dtype="float32",
        centroid_fraction=0.2,
    )  # fmt: skip
    build_sharded(root / "docs.parquet", root / "idx", 3, config, SearchDefaults(engine="seismic"),
                  run=_in_process)  # fmt: skip
    return ShardedIndex.load(root / "idx"), _integer_queries(30, 60, request.param)


@pytest.mark.parametrize("global_order", [False, True])
@pytest.mark.parametrize("query_cut", [1, 3, 60])
def test_with_exact_bounds_sharing_returns_the_top_k_of_shards_searched_alone(
    exact_bounds, query_cut, global_order
):
    """At heap_factor 1 with exact summary bounds, a block skipped against the shared score
    holds no document of the merged top-k: threads and one-after-the-other both return exactly
    what the shards searched alone merge to."""
    index, queries = exact_bounds
    search = {"query_cut": query_cut, "heap_factor": 1.0, "engine": "seismic",
              "global_order": global_order}  # fmt: skip
    docs, scores = _alone(index, queries, **search)
    threaded = index.search_batch(queries, k=K, **search)
    np.testing.assert_array_equal(threaded.docs, docs)
    np.testing.assert_array_equal(threaded.scores, scores)
    params = index._params(K, query_cut, 1.0, None, None, "seismic", global_order)
    in_turn = SegmentedIndex._run(index, queries, params, None, adapt=False)
    np.testing.assert_array_equal(in_turn[0], docs)


@pytest.fixture(scope="module")
def pruned(tmp_path_factory):
    root = tmp_path_factory.mktemp("pruned")
    docs = random_collection(3000, vocab_size=300, mean_nnz=20, seed=21)
    write_vectors(root / "docs.parquet", docs, row_group_size=500)
    build_sharded(root / "docs.parquet", root / "idx", 2, BuildConfig(n_postings=400),
                  SearchDefaults(engine="seismic"), run=_in_process)  # fmt: skip
    build_sharded(root / "docs.parquet", root / "one", 1, BuildConfig(n_postings=400),
                  SearchDefaults(engine="seismic"), run=_in_process)  # fmt: skip
    return root, random_collection(40, vocab_size=300, mean_nnz=20, seed=22, prefix="q")


@pytest.mark.parametrize("global_order", [False, True])
def test_a_shard_searched_after_another_scores_fewer_documents(pruned, global_order):
    """The second shard starts from the first one's top-k: it skips more blocks."""
    root, queries = pruned
    first, second = (p.segment.seismic for p in ShardedIndex.load(root / "idx").parts)
    search = {"k": K, "query_cut": 5, "heap_factor": 0.8, "engine": "seismic",
              "global_order": global_order}  # fmt: skip
    shared = new_shared(len(queries), 2, K)
    first.search_batch(queries, shared=shared, slot=0, **search)
    after = second.search_batch(queries, shared=shared, slot=1, **search).scored.sum()
    alone = second.search_batch(queries, **search).scored.sum()
    assert after < alone


def test_shards_keep_their_share_of_the_posting_budget(pruned):
    """Together the shards keep about the single index's postings (rounding aside), not
    twice them."""
    root, _ = pruned
    single = ShardedIndex.load(root / "one").parts[0].segment.seismic
    shards = [p.segment.seismic for p in ShardedIndex.load(root / "idx").parts]
    budgets = [s.config.n_postings for s in shards]
    assert budgets == [round(400 * len(s) / 3000) for s in shards]
    total = sum(len(s.postings.post_docs) for s in shards)
    assert total <= len(single.postings.post_docs) * 1.02
