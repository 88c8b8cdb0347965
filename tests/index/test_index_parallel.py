"""The parallel paths: batch search, concurrent single searches, and the build, each against its
serial counterpart, bit for bit (the session runs Numba with two threads, see conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path

import numba
import numpy as np
import pytest
from conftest import NUMBA_TEST_THREADS
from index_data import random_collection
from lsr.index import BuildConfig, SeismicIndex

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def index():
    return SeismicIndex.build(random_collection(800, seed=51), BuildConfig(n_postings=30, knn=4))


@pytest.fixture(scope="module")
def queries():
    return random_collection(64, mean_nnz=8, seed=52, prefix="q")


def test_tests_run_with_two_numba_threads():
    assert numba.config.NUMBA_NUM_THREADS == NUMBA_TEST_THREADS
    assert numba.get_num_threads() == NUMBA_TEST_THREADS


def _one_by_one(index, queries, **params):
    """Every query through ``search`` (the serial kernel), in order."""
    return [index.search(*queries.row(q), **params) for q in range(len(queries))]


@pytest.mark.parametrize(
    "params",
    [{}, {"heap_factor": 0.6, "first_sorted": True}, {"query_cut": 3, "n_knn": 4}],
    ids=["defaults", "first_sorted", "knn"],
)
def test_parallel_batch_equals_serial_search(index, queries, params):
    batch = index.search_batch(queries, k=10, **params)
    for q, (ids, scores) in enumerate(_one_by_one(index, queries, k=10, **params)):
        assert [doc_id for doc_id, _ in batch.hits(q)] == ids
        np.testing.assert_array_equal(batch.scores[q][: len(ids)], scores)


def test_batch_is_the_same_with_one_thread(index, queries):
    parallel = index.search_batch(queries, k=10)
    numba.set_num_threads(1)
    try:
        serial = index.search_batch(queries, k=10)
    finally:
        numba.set_num_threads(NUMBA_TEST_THREADS)
    np.testing.assert_array_equal(parallel.docs, serial.docs)
    np.testing.assert_array_equal(parallel.scores, serial.scores)
    np.testing.assert_array_equal(parallel.scored, serial.scored)


def test_concurrent_single_searches_equal_one_thread(index, queries):
    """What the HTTP service does: many Python threads search one index at once."""
    expected = _one_by_one(index, queries, k=10)
    with ThreadPoolExecutor(max_workers=8) as pool:
        runs = list(pool.map(lambda _: _one_by_one(index, queries, k=10), range(16)))
    for run in runs:
        for (ids, scores), (want_ids, want_scores) in zip(run, expected):
            assert ids == want_ids
            np.testing.assert_array_equal(scores, want_scores)


def test_concurrent_batches_equal_one_batch(index, queries):
    expected = index.search_batch(queries, k=10)
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(pool.map(lambda _: index.search_batch(queries, k=10), range(8)))
    for run in runs:
        np.testing.assert_array_equal(run.docs, expected.docs)
        np.testing.assert_array_equal(run.scores, expected.scores)


def _index_arrays(built: SeismicIndex) -> dict[str, np.ndarray]:
    arrays = dict(built.forward.stored())
    arrays |= {f.name: getattr(built.postings, f.name) for f in fields(built.postings)}
    arrays |= built.summaries.stored()
    return arrays | {"knn": built.knn}


def test_parallel_build_equals_serial_build(index):
    collection = random_collection(800, seed=51)
    numba.set_num_threads(1)
    try:
        serial = SeismicIndex.build(collection, index.config)
    finally:
        numba.set_num_threads(NUMBA_TEST_THREADS)
    parallel = _index_arrays(index)
    for name, array in _index_arrays(serial).items():
        assert array.dtype == parallel[name].dtype, name
        np.testing.assert_array_equal(array, parallel[name], err_msg=name)


WORKQUEUE_PROBE = textwrap.dedent(
    """
    from concurrent.futures import ThreadPoolExecutor
    import numba, numpy as np
    from index_data import random_collection
    from lsr.index import BuildConfig, ExactIndex, SeismicIndex
    docs, queries = random_collection(300, seed=1), random_collection(32, seed=2, prefix="q")
    with ThreadPoolExecutor(4) as pool:  # concurrent builds too, the kNN graph's searches inside
        built = list(pool.map(lambda _: SeismicIndex.build(docs, BuildConfig(knn=2)), range(2)))
    for searcher in (built[0], ExactIndex(docs)):
        expected = searcher.search_batch(queries, k=10)
        with ThreadPoolExecutor(4) as pool:
            runs = list(pool.map(lambda _: searcher.search_batch(queries, k=10), range(16)))
        assert all(np.array_equal(run.docs, expected.docs) for run in runs)
    print(numba.threading_layer())
    """
)


def test_concurrent_batches_do_not_abort_numbas_workqueue_layer():
    """Numba's fallback threading layer aborts the process on concurrent parallel launches;
    the index makes them take turns there (``index/parallel.py``)."""
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue", "PYTHONPATH": str(HERE)}
    done = subprocess.run(
        [sys.executable, "-c", WORKQUEUE_PROBE], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["workqueue"]
