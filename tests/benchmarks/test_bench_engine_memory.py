"""bench-engine and bench-build-memory on a tiny synthetic collection: the figures they report."""

from __future__ import annotations

import pytest

from benchmarks import build_memory, engine

OPTIONS = {"n_docs": 600, "n_queries": 40, "n_postings": 20, "rounds": 1, "target": 0.5,
           "budget": 40, "seed": 3}  # fmt: skip


@pytest.fixture(scope="module")
def engine_result(tmp_path_factory):
    return engine.bench_dataset("synthetic", OPTIONS, tmp_path_factory.mktemp("cache"))


def test_engine_bench_times_the_three_engines_and_the_choice(engine_result):
    latency = engine_result["query_latency_us"]
    assert set(latency) == {"seismic", "exact", "auto"} and min(latency.values()) > 0
    assert engine_result["auto_picked"] == engine_result["build_timing"]["faster"]
    assert engine_result["auto_over_faster"] == pytest.approx(
        latency["auto"] / min(latency["seismic"], latency["exact"])
    )
    assert engine_result["tune"]["choice"]["held_out_accuracy"] >= 0.0


def test_engine_report_has_a_row_per_collection(engine_result):
    payload = {"provenance": _provenance(), "results": [engine_result]}
    text = engine.markdown(payload)
    assert f"| {engine_result['dataset']} | 600 |" in text and "target 0.5" in text


def test_build_memory_compares_the_peak_with_its_bound(tmp_path):
    result = build_memory.bench_size(600, OPTIONS, tmp_path)
    assert result["bound_bytes"] == 1.5 * result["index_bytes"] + 2**30
    assert result["peak_over_bound"] == result["peak_rss_bytes"] / result["bound_bytes"]
    assert result["per_doc"]["index_bytes"] == result["index_bytes"] / 600
    text = build_memory.markdown({"provenance": _provenance(), "results": [result]})
    assert "| 600 |" in text


def _provenance():
    from benchmarks import provenance

    return provenance.record("python -m benchmarks.test", allow_dirty=True)
