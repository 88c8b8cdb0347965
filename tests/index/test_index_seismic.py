"""SeismicIndex search against exact search."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from index_data import random_collection
from lsr.index import BuildConfig, ExactIndex, SeismicIndex, bitset
from lsr.index.config import SearchDefaults
from lsr.index.engine import EngineTiming
from lsr.index.persist import MANIFEST

from lsr.errors import InputError
from lsr.vector_io import write_vectors

NO_PRUNING = BuildConfig(n_postings=10_000, value_dtype="float32", centroid_fraction=0.2)


@pytest.fixture(scope="module")
def docs():
    return random_collection(600, vocab_size=120, mean_nnz=15, seed=21)


@pytest.fixture(scope="module")
def queries():
    return random_collection(40, vocab_size=120, mean_nnz=8, seed=22, prefix="q")


@pytest.fixture(scope="module")
def unpruned(docs):
    return SeismicIndex.build(docs, NO_PRUNING)


@pytest.fixture(scope="module")
def default_index(docs):
    return SeismicIndex.build(docs, BuildConfig(n_postings=20, knn=5))


@pytest.mark.parametrize("global_order", [False, True])
def test_without_pruning_or_skipping_the_index_is_exact(unpruned, docs, queries, global_order):
    exact = ExactIndex(docs).search_batch(queries, k=10)
    results = unpruned.search_batch(
        queries, k=10, query_cut=1000, heap_factor=0.0, global_order=global_order
    )
    np.testing.assert_array_equal(results.docs, exact.docs)
    np.testing.assert_array_equal(results.scores, exact.scores)


@settings(max_examples=15, deadline=None)
@given(
    k=st.integers(1, 20),
    query_cut=st.integers(1, 12),
    heap_factor=st.floats(0.1, 1.5),
    first_sorted=st.booleans(),
    n_knn=st.integers(0, 5),
    global_order=st.booleans(),
)
def test_every_result_has_its_exact_score(
    default_index, queries, k, query_cut, heap_factor, first_sorted, n_knn, global_order
):
    """Pruned, skipping, float16: whatever is returned is scored exactly, best first."""
    exact = default_index.exact()
    results = default_index.search_batch(
        queries, k, query_cut, heap_factor, first_sorted, n_knn, global_order=global_order
    )
    full = exact.search_batch(queries, k=len(default_index))
    for q in range(len(queries)):
        truth = {d: s for d, s in zip(full.docs[q], full.scores[q]) if d >= 0}
        hits = results.docs[q][results.docs[q] >= 0]
        assert len(set(hits.tolist())) == len(hits)
        for d, s in zip(hits, results.scores[q]):
            assert s == truth[d]
        ranked = [(-s, d) for d, s in zip(hits, results.scores[q][: len(hits)])]
        assert ranked == sorted(ranked)


def test_results_present_in_the_exact_top_k_have_exact_scores(default_index, queries):
    exact = default_index.exact().search_batch(queries, k=10)
    results = default_index.search_batch(queries, k=10)
    for q in range(len(queries)):
        truth = dict(zip(exact.docs[q].tolist(), exact.scores[q].tolist()))
        for d, s in zip(results.docs[q].tolist(), results.scores[q].tolist()):
            if d in truth:
                assert s == truth[d]


def test_default_parameters_are_accurate(default_index, queries):
    exact = default_index.exact().search_batch(queries, k=10)
    results = default_index.search_batch(queries, k=10)
    overlap = [len(set(a) & set(b)) / 10 for a, b in zip(results.docs, exact.docs)]
    assert np.mean(overlap) >= 0.95


def test_knn_graph_excludes_the_document_itself(default_index):
    graph = default_index.knn
    assert graph.shape == (len(default_index), 5)
    assert not (graph == np.arange(len(default_index))[:, None]).any()
    assert graph.max() < len(default_index)


def test_single_query_matches_batch(default_index, queries):
    batch = default_index.search_batch(queries, k=5)
    for q in range(3):
        ids, scores = default_index.search(*queries.row(q), k=5)
        assert ids == [doc_id for doc_id, _ in batch.hits(q)]
        np.testing.assert_array_equal(scores, batch.scores[q][: len(ids)])


def test_scored_counts_are_reported(unpruned, queries):
    results = unpruned.search_batch(queries, k=10, query_cut=1000, heap_factor=0.0)
    assert results.scored is not None and (results.scored > 0).all()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("k", 0),
        ("query_cut", 0),
        ("heap_factor", -0.5),
        ("n_knn", -1),
        ("first_sorted", "yes"),
        ("global_order", 1),
    ],
)
def test_bad_search_parameters_name_the_parameter(unpruned, queries, option, value):
    with pytest.raises(InputError, match=option):
        unpruned.search_batch(queries, **{option: value})


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("n_postings", 0),
        ("centroid_fraction", 1.5),
        ("summary_energy", 0.0),
        ("doc_cut", 0),
        ("pruning", "random"),
        ("value_dtype", "float64"),
        ("knn", -2),
        ("max_fraction", 0),
    ],
)
def test_bad_build_parameters_name_the_parameter(option, value):
    with pytest.raises(InputError, match=option):
        BuildConfig(**{option: value})


def test_queries_from_another_vocabulary_are_refused(unpruned):
    with pytest.raises(InputError, match="vocab_size"):
        unpruned.search_batch(random_collection(2, vocab_size=99, prefix="q"))


def test_empty_query_returns_padding(unpruned):
    ids, scores = unpruned.search(np.array([], np.int32), np.array([], np.float32), k=3)
    assert ids == [] and len(scores) == 0


def test_n_knn_without_a_graph_is_refused(unpruned, queries):
    with pytest.raises(InputError, match="n_knn=2: this index has no kNN graph"):
        unpruned.search_batch(queries, n_knn=2)
    with pytest.raises(InputError, match="n_knn"):
        unpruned.search(*queries.row(0), n_knn=1)


def test_search_uses_the_stored_defaults_for_what_it_is_not_given(docs, queries):
    stored = SearchDefaults(query_cut=3, heap_factor=0.5, first_sorted=True, n_knn=2)
    index = SeismicIndex.build(docs, BuildConfig(n_postings=20, knn=2), search_defaults=stored)
    explicit = index.search_batch(
        queries, k=10, query_cut=3, heap_factor=0.5, first_sorted=True, n_knn=2
    )
    implicit = index.search_batch(queries, k=10)
    np.testing.assert_array_equal(implicit.docs, explicit.docs)
    np.testing.assert_array_equal(implicit.scored, explicit.scored)
    given = index.search_batch(queries, k=10, query_cut=12)
    expected = index.search_batch(queries, 10, 12, 0.5, True, 2)
    np.testing.assert_array_equal(given.scored, expected.scored)
    assert not np.array_equal(given.scored, implicit.scored)


def test_stored_defaults_survive_save_and_load(docs, tmp_path):
    stored = SearchDefaults(heap_factor=0.5)
    SeismicIndex.build(docs, BuildConfig(n_postings=20), search_defaults=stored).save(
        tmp_path / "i"
    )
    assert SeismicIndex.load(tmp_path / "i").search_defaults == stored


def test_an_index_saved_without_defaults_gets_the_current_ones(unpruned, tmp_path):
    unpruned.save(tmp_path / "i")
    manifest = json.loads((tmp_path / "i" / MANIFEST).read_text())
    del manifest["search_defaults"]
    (tmp_path / "i" / MANIFEST).write_text(json.dumps(manifest))
    assert SeismicIndex.load(tmp_path / "i").search_defaults == SearchDefaults()


def _single_hits(index, queries, **params):
    return [index.search(*queries.row(i), k=10, **params)[0] for i in range(len(queries))]


def _batch_hits(index, queries, **params):
    found = index.search_batch(queries, k=10, **params)
    return [[hit for hit, _ in found.hits(i)] for i in range(len(queries))]


def test_a_single_search_follows_defaults_and_timing_replaced_after_it_ran(docs, queries):
    """:meth:`SeismicIndex.search` remembers its kernel parameters per setting; replacing the
    stored defaults (``lsr index tune``) or the engine timing must take effect at once."""
    index = SeismicIndex.build(docs, BuildConfig(n_postings=20))
    assert _single_hits(index, queries) == _batch_hits(index, queries)
    index.search_defaults = SearchDefaults(query_cut=1, heap_factor=3.0)
    narrow = _batch_hits(index, queries)
    assert narrow != _batch_hits(index, queries, query_cut=10, heap_factor=0.9)
    assert _single_hits(index, queries) == narrow
    index.search_defaults = SearchDefaults(engine="auto")
    index.timing = EngineTiming(seismic_us=100.0, exact_us=1.0, n_queries=1, measured_on="test")
    assert index.engine_for() == "exact"
    exact = index.exact()  # the index's own stored weights: the same scores
    for i in range(len(queries)):
        ids, scores = index.search(*queries.row(i), k=10)
        expected_ids, expected_scores = exact.search(*queries.row(i), k=10)
        assert ids == expected_ids
        np.testing.assert_array_equal(scores, expected_scores)


def test_a_remembered_setting_still_refuses_a_value_of_another_type(default_index, queries):
    row = queries.row(0)
    default_index.search(*row, first_sorted=True)
    with pytest.raises(InputError, match="first_sorted must be a bool"):
        default_index.search(*row, first_sorted=1)
    with pytest.raises(InputError, match="heap_factor"):
        default_index.search(*row, heap_factor=[0.5])


@pytest.mark.parametrize(("option", "value"), [("heap_factor", -1.0), ("query_cut", 0)])
def test_bad_stored_defaults_name_the_parameter(option, value):
    with pytest.raises(InputError, match=option):
        SearchDefaults(**{option: value})


def test_a_build_from_the_file_equals_the_build_from_memory(tmp_path):
    """Row groups of 7 documents streamed into the forward index give the index built from the
    whole collection, array for array (float16: the histogram pruning path; float32: the other)."""
    docs = random_collection(300, seed=77)
    write_vectors(tmp_path / "docs.parquet", docs, row_group_size=7)
    for value_dtype in ("float16", "float32"):
        config = BuildConfig(n_postings=5, value_dtype=value_dtype)
        streamed = SeismicIndex.build_from_file(tmp_path / "docs.parquet", config)
        whole = SeismicIndex.build(docs, config)
        assert list(streamed.doc_ids) == list(whole.doc_ids)
        expected = whole._arrays(whole.forward)
        for name, array in streamed._arrays(streamed.forward).items():
            np.testing.assert_array_equal(array, expected[name], err_msg=name)


def test_search_parameters_are_remembered_by_value_and_type():
    defaults = SearchDefaults()
    first = defaults.params(10, query_cut=5, heap_factor=0.8)
    assert defaults.params(10, query_cut=5, heap_factor=0.8) is first
    assert defaults.params(1).k == 1
    with pytest.raises(InputError, match="k must be an integer"):
        defaults.params(True)  # equal to 1 as a key, but not an integer k
    with pytest.raises(InputError, match="query_cut"):
        defaults.params(10, query_cut=[5])  # unhashable: validated, not remembered
    assert SearchDefaults(query_cut=7).params(10).query_cut == 7


@settings(max_examples=30, deadline=None)
@given(
    q=st.integers(0, 39),
    seed=st.integers(0, 2**16),
    weight_dtype=st.sampled_from([np.float32, np.float64]),
    term_dtype=st.sampled_from([np.int32, np.int64, np.uint16]),
    first_sorted=st.booleans(),
)
def test_single_query_in_any_entry_order_matches_batch(
    default_index, queries, q, seed, weight_dtype, term_dtype, first_sorted
):
    """search canonicalizes the query inside its compiled call (index.search.search_single):
    entries in any order, of any float dtype, term ids of any integer dtype (int32 and int64
    reach the kernel as they are, others widened), with a zero weight added, give the batch's
    row."""
    terms, weights = queries.row(q)
    order = np.random.default_rng(seed).permutation(len(terms) + 1)
    zero_term = next(t for t in range(queries.vocab_size) if t not in set(terms.tolist()))
    terms = np.append(terms, zero_term).astype(term_dtype)[order]
    weights = np.append(weights, 0.0).astype(weight_dtype)[order]
    batch = default_index.search_batch(queries, k=5, first_sorted=first_sorted, n_knn=2)
    ids, scores = default_index.search(terms, weights, k=5, first_sorted=first_sorted, n_knn=2)
    assert ids == [doc_id for doc_id, _ in batch.hits(q)]
    np.testing.assert_array_equal(scores, batch.scores[q][: len(ids)])


@pytest.mark.parametrize(
    ("terms", "weights", "message"),
    [
        ([1, 120], [1.0, 1.0], "term id 120 is outside the vocabulary"),
        ([3, 1, 3], [1.0, 1.0, 2.0], "term id 3 is repeated"),
        ([1], [np.nan], "finite and non-negative"),
    ],
)
def test_a_bad_query_is_refused_by_search(default_index, terms, weights, message):
    with pytest.raises(InputError, match=message):
        default_index.search(np.array(terms), np.array(weights))


def test_queries_of_different_lengths_in_threads_match_batch(default_index, queries):
    """Each thread reuses its own scratch arrays across queries of different lengths."""
    batch = default_index.search_batch(queries, k=5)
    expected = [[doc_id for doc_id, _ in batch.hits(q)] for q in range(len(queries))]

    def run(offset: int) -> list[list[str]]:
        found = [[] for _ in range(len(queries))]
        for i in range(len(queries)):
            q = (i + offset) % len(queries)
            found[q] = default_index.search(*queries.row(q), k=5)[0]
        return found

    with ThreadPoolExecutor(4) as pool:
        assert all(found == expected for found in pool.map(run, range(0, 40, 10)))


def test_searches_with_and_without_exclusions_interleaved_in_threads_match_batch(
    default_index, queries
):
    """A thread's searches without exclusions share one Searcher (its scratch kept across
    queries); one that excludes documents gets its own: in four threads, searches that
    alternate between the two each give their batch's row."""
    excluded = bitset.from_mask(np.arange(len(default_index)) % 3 == 0)
    expected = {
        None: default_index.search_batch(queries, k=5),
        "some": default_index.search_batch(queries, k=5, exclude=excluded),
    }
    rows = {
        key: [[d for d, _ in r.hits(q)] for q in range(len(queries))] for key, r in expected.items()
    }

    def run(offset: int) -> bool:
        for i in range(2 * len(queries)):
            # Alternating per search; the second pass swaps which queries exclude.
            q = (i + offset) % len(queries)
            key = (None, "some")[(i + i // len(queries)) % 2]
            exclude = excluded if key else None
            if default_index.search(*queries.row(q), k=5, exclude=exclude)[0] != rows[key][q]:
                return False
        return True

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(run, range(4)))
