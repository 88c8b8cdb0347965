"""The bench-serve harness on a tiny index: wrk's runs are parsed, PSS read, the report made."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from lsr.index import SeismicIndex

from benchmarks import provenance
from benchmarks.serve import (
    Workload,
    build_parameters,
    cached_index,
    in_process_latency,
    index_name,
    markdown,
    measure,
    pss_mib,
    queueing_floor,
    served_accuracy,
    soak_slope,
)
from lsr.vector_io import write_vectors
from lsr.vectors import SparseCollection, VectorMetadata


def test_pss_of_this_process_is_positive_and_below_rss():
    pss = pss_mib(os.getpid())
    assert 0 < pss < 64 * 1024


def tiny_documents() -> SparseCollection:
    rng = np.random.default_rng(0)
    rows = [(rng.choice(50, size=5, replace=False), np.ones(5, np.float32)) for _ in range(300)]
    return SparseCollection.from_rows([f"d{i}" for i in range(300)], rows, VectorMetadata(50))


def test_a_cached_index_of_a_format_no_longer_read_is_rebuilt(tmp_path):
    write_vectors(tmp_path / "docs.parquet", tiny_documents())
    first = cached_index(tmp_path / "docs.parquet", tmp_path / "index")
    manifest = tmp_path / "index" / "manifest.json"
    record = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**record, "format_version": 2}))
    again = cached_index(tmp_path / "docs.parquet", tmp_path / "index")
    assert json.loads(manifest.read_text())["format_version"] == record["format_version"]
    assert again.doc_ids[:] == first.doc_ids[:] and len(again) == 300


@pytest.mark.skipif(shutil.which("wrk") is None, reason="run `make install-browser`")
def test_a_cached_index_of_finer_blocks_is_tuned_before_it_takes_its_place(tmp_path):
    from lsr.index.config import BuildConfig

    rng = np.random.default_rng(2)
    dense = rng.random((400, 60)) * (rng.random((400, 60)) < 0.15)
    rows = [(np.flatnonzero(d), d[np.flatnonzero(d)].astype(np.float32)) for d in dense]
    write_vectors(
        tmp_path / "docs.parquet",
        SparseCollection.from_rows([f"d{i}" for i in range(400)], rows, VectorMetadata(60)),
    )
    query_rows = [
        (rng.choice(60, 6, replace=False), rng.random(6).astype(np.float32)) for _ in range(40)
    ]
    write_vectors(
        tmp_path / "queries.parquet",
        SparseCollection.from_rows([f"q{i}" for i in range(40)], query_rows, VectorMetadata(60)),
    )
    name = index_name("synthetic-400", 0.3, 0.9)
    assert name == "synthetic-400-cf0.3-tuned0.9.index"
    assert index_name("synthetic-400", None, None) == "synthetic-400.index"
    index_dir = tmp_path / name
    index = cached_index(
        tmp_path / "docs.parquet", index_dir, BuildConfig(centroid_fraction=0.3),
        (tmp_path / "queries.parquet", 0.9),
    )  # fmt: skip
    assert index.config.centroid_fraction == 0.3
    tuning = json.loads((index_dir / "manifest.json").read_text())["stats"]["tuning"]
    assert tuning["target_accuracy"] == 0.9 and tuning["choice"]["tuning_accuracy"] >= 0.9
    chosen = {k: tuning["choice"][k] for k in ("query_cut", "heap_factor")}
    assert {k: getattr(index.search_defaults, k) for k in chosen} == chosen
    # Built and tuned under a temporary name, swapped in whole: nothing else is left beside it.
    assert sorted(os.listdir(tmp_path)) == ["docs.parquet", "queries.parquet", name]
    # Cached: a second call loads it, with no build (its docs gone) and no tuning.
    (tmp_path / "docs.parquet").unlink()
    again = cached_index(tmp_path / "docs.parquet", index_dir, BuildConfig(centroid_fraction=0.3))
    assert again.search_defaults == index.search_defaults


def test_measure_runs_wrk_against_a_real_server(tmp_path):
    index = SeismicIndex.build(tiny_documents())
    index.save(tmp_path / "index")
    queries = [(np.array([1, 7]), np.array([1.0, 0.5], np.float32))]
    body = json.dumps({"vector": {"indices": [1, 7], "values": [1.0, 0.5]}, "k": 10})
    workload = Workload(
        "tiny", tmp_path / "index", ("--no-model",), [body], lambda i: index.search(*queries[i])
    )
    options = {
        "clients": [1, 4], "duration": 1.0, "max_requests": 200, "warmup": 1.0,
        "overhead_rounds": 2,
    }  # fmt: skip
    served = measure(workload, 1, options, tmp_path)
    assert [run["clients"] for run in served["runs"]] == [1, 4]
    for run in served["runs"]:
        # A wrk thread stops at its share of the budget; answers already in flight on its other
        # connections still arrive, so a run may end up to one request per client over it.
        assert run["errors"] == 0 and 0 < run["requests"] <= 200 + run["clients"]
        assert run["p50_ms"] > 0
        assert len(run["load"]) == 2  # the machine's load average before and after the run
        cost = run["per_request"]
        # Every request passes through the event loop and a search thread of the one process.
        assert cost["event_loop"]["cpu_ms"] > 0 and cost["pools"]["cpu_ms"] > 0
        for part in cost.values():
            assert 0 <= part["system_ms"] <= part["cpu_ms"] + 10  # stat counts in 10 ms ticks
            assert part["minor_faults"] >= 0
    # The rounds alternate the two sides on the same queries; each side's p50 is its own.
    overhead = served["overhead"]
    assert len(overhead["rounds"]) == 2
    for r in overhead["rounds"]:
        assert r["http"] > 0 and r["in_process"] > 0
        assert r["difference"] == pytest.approx(r["http"] - r["in_process"])
    assert overhead["median_ms"] == pytest.approx(
        np.median([r["difference"] for r in overhead["rounds"]])
    )
    assert overhead["min_ms"] <= overhead["q1_ms"] <= overhead["q3_ms"] <= overhead["max_ms"]
    result = {"name": "tiny", "in_process": in_process_latency(workload, 0.1), "served": [served]}
    origin = provenance.record("c", allow_dirty=True)
    report = markdown({"provenance": origin, "workloads": [result]})
    assert "| 1 | 4 |" in report and "HTTP overhead at 1 client, median over 2 rounds" in report


def test_the_report_names_the_served_index_build_and_search_parameters():
    from lsr.index.config import BuildConfig

    index = SeismicIndex.build(tiny_documents(), BuildConfig(centroid_fraction=0.3))
    build = build_parameters(index)
    assert build == {"n_postings": 3500, "centroid_fraction": 0.3, "summary_energy": 0.4}
    result = {
        "name": "tiny", "index": "/x", "settings": {"query_cut": 7, "heap_factor": 0.9},
        "accuracy": {"accuracy_at_10": 0.953, "n_queries": 300}, "build": build,
        "in_process": {"p50_ms": 1.0, "p99_ms": 2.0, "floor_8_clients": {"p50_ms": 4.0, "p99_ms": 5.0}},
        "served": [],
    }  # fmt: skip
    origin = provenance.record("c", allow_dirty=True)
    report = markdown({"provenance": origin, "workloads": [result]})
    assert (
        "Served from `/x` (built with n_postings 3500, centroid_fraction 0.3, summary_energy 0.4)"
        " with query_cut 7, heap_factor 0.9: accuracy@10 0.953" in report
    )


def test_served_accuracy_is_the_overlap_with_a_dense_exact_top_10(tmp_path):
    rng = np.random.default_rng(1)
    dense = rng.random((400, 60)) * (rng.random((400, 60)) < 0.15)
    rows = [(np.flatnonzero(d), d[np.flatnonzero(d)].astype(np.float32)) for d in dense]
    documents = SparseCollection.from_rows([f"d{i}" for i in range(400)], rows, VectorMetadata(60))
    index = SeismicIndex.build(documents)
    query_rows = [(np.array([3, 9, 27, 40]), rng.random(4).astype(np.float32)) for _ in range(20)]
    queries = SparseCollection.from_rows(
        [f"q{i}" for i in range(20)], query_rows, VectorMetadata(60)
    )
    settings = {"query_cut": 1, "heap_factor": 0.5}  # loose enough to miss some documents
    got = served_accuracy(index, queries, settings, tmp_path / "tiny")
    # The reference: the dense top-10 over the index's stored (float16) weights.
    stored = np.zeros((400, 60), np.float32)
    for d in range(400):
        terms, values = index.document(d)
        stored[d, terms] = values
    expected = []
    for terms, weights in query_rows:
        query = np.zeros(60, np.float32)
        query[terms] = weights
        truth = set(np.argsort(-(stored @ query), kind="stable")[:10].tolist())
        found = index.search(terms, weights, k=10, **settings)[0]
        expected.append(len(truth & {int(doc[1:]) for doc in found}) / 10)
    assert np.mean(expected) < 1.0, "the settings should miss some documents"
    assert got == {"accuracy_at_10": pytest.approx(np.mean(expected)), "n_queries": 20}
    assert (tmp_path / "tiny-exact-top10-20.npz").exists()  # kept for the next run


def test_soak_slope_leaves_out_the_warm_up():
    # Pages mapped in during the first minute, then 2 MiB per minute of growth.
    samples = [(0.0, 100.0), (30.0, 900.0)] + [(t, 1000.0 + 2 * t / 60) for t in range(60, 600, 10)]
    result = soak_slope(samples)
    assert result["slope_mib_per_min"] == pytest.approx(2.0)
    assert (result["late_min_mib"], result["late_max_mib"]) == (
        1002.0,
        pytest.approx(1000 + 2 * 590 / 60),
    )


def test_queueing_floor_of_constant_service_times_is_the_queue_depth():
    # 8 clients on 2 servers, every request 4 ms: each waits for 3 others, then is served.
    floor = queueing_floor(np.array([4.0]), clients=8, servers=2, requests=1000)
    assert floor == {"p50_ms": pytest.approx(16.0), "p99_ms": pytest.approx(16.0)}


def test_queueing_floor_of_one_client_is_the_service_time():
    times = np.array([1.0, 2.0, 3.0])
    floor = queueing_floor(times, clients=1, servers=2, requests=3000)
    assert floor["p50_ms"] == pytest.approx(2.0) and floor["p99_ms"] == pytest.approx(3.0)


def test_queueing_floor_p99_grows_with_the_spread_of_service_times():
    steady = queueing_floor(np.array([4.0]), clients=8, servers=2)
    spread = queueing_floor(np.array([2.0, 6.0]), clients=8, servers=2)
    assert spread["p50_ms"] == pytest.approx(16.0, abs=2.0)  # Little's law: the same mean
    assert spread["p99_ms"] > steady["p99_ms"] + 4.0
