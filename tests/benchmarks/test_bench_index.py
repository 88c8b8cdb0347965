"""The benchmark harness: recall, operating points, one sweep point over both systems, the report."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import provenance, report
from benchmarks.build_worker import run_build
from benchmarks.exact_reference import ground_truth
from benchmarks.index import (
    BenchData,
    Ours,
    OursExact,
    Peer,
    SystemSpec,
    collection_result,
    documents_released,
    latency_stats,
    recall,
    sweep_point,
    synthetic_files,
)
from benchmarks.synthetic import SyntheticConfig, generate
from lsr.vector_io import read_vectors, write_vectors

PARAMS = {"n_postings": 10_000, "centroid_fraction": 0.1}


def test_recall_counts_the_exact_top_k_found():
    truth = [{"a", "b"}, {"c"}, set()]
    assert recall([["a", "x"], ["c"], ["z"]], truth) == pytest.approx(0.75)


def test_latency_stats_in_microseconds():
    stats = latency_stats(np.array([1e-6] * 99 + [1e-3]))
    assert stats["mean_us"] == pytest.approx(10.99)
    assert 1.0 < stats["p99_us"] <= 1000.0


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench")
    docs, queries = generate(300, 12, SyntheticConfig(vocab_size=800, n_topics=3))
    write_vectors(work / "docs.parquet", docs)
    data = BenchData("tiny", docs, queries, work / "docs.parquet")
    specs = [SystemSpec("pyseismic-lsr", "peer", PARAMS), SystemSpec("lsr", "ours", PARAMS)]
    for spec in specs:
        spec.build = run_build(spec.kind, data.docs_path, spec.params, work / spec.label)
    systems = {
        "pyseismic-lsr": Peer(specs[0].build["path"], queries, False),
        "lsr": Ours(specs[1].build["path"], queries, False),
        report.EXACT: OursExact(docs, queries),
    }
    truth = [{docs.ids[p] for p in row} for row in ground_truth(docs, queries, progress=False)]
    return data, specs, systems, truth


def test_documents_released_while_building_and_read_back_equal(bench):
    data = bench[0]
    held = data.docs
    with documents_released(data):
        assert data.docs is None
    assert data.docs is not held
    np.testing.assert_array_equal(data.docs.indptr, held.indptr)
    np.testing.assert_array_equal(data.docs.indices, held.indices)
    np.testing.assert_array_equal(data.docs.values, held.values)
    assert list(data.docs.ids) == list(held.ids)


def test_exhaustive_point_finds_the_exact_top_k_on_both_systems(bench):
    _, _, systems, truth = bench
    point = sweep_point(systems, truth, query_cut=1000, heap_factor=0.0, repeats=1)
    for label in systems:
        assert point[label]["recall"] == pytest.approx(1.0)
        assert point[label]["batch_recall"] == pytest.approx(1.0)
        assert point[label]["mean_us"] > 0 and point[label]["batch_mean_us"] > 0


def test_report_renders_every_system(bench):
    data, specs, systems, truth = bench
    points = [sweep_point(systems, truth, 5, 0.9, 1)]
    stats = report.data_stats(data.docs, data.queries)
    exact = {
        "queries": 1,
        "scipy_csr": {"mean_us": 100.0, "p99_us": 100.0},
        "exact_index": {"mean_us": 50.0, "p99_us": 50.0},
        "exact_index_batch_mean_us": 40.0,
        "agreement_with_scipy": 1.0,
    }
    result = collection_result(data.name, stats, specs, exact, points)
    origin = provenance.record("python -m benchmarks.index --quick", allow_dirty=True)
    payload = {"provenance": origin, "seconds": 1.0, "results": [result]}
    text = report.markdown(payload)
    assert text.count("python -m benchmarks.index --quick") == 1
    assert "| pyseismic-lsr |" in text and "| lsr |" in text
    assert "build time x" in text
    assert "In the sweep, interleaved query by query" in text  # our exact search's figures


def test_synthetic_files_take_fewer_queries_from_a_larger_cached_draw(tmp_path):
    first = synthetic_files(300, 12, seed=3, cache=tmp_path)
    stem, docs_path, queries_path = synthetic_files(300, 5, seed=3, cache=tmp_path)
    assert stem.startswith("synthetic-300-5-")
    assert docs_path == first[1]  # the same documents, not generated again
    assert read_vectors(queries_path).ids == read_vectors(first[2]).ids[:5]
    assert not (tmp_path / f"{stem}-docs.parquet").exists()
