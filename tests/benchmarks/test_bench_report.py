"""Operating points, ratios and the re-rendered report of the index benchmark."""

from __future__ import annotations

import json

import pytest

from benchmarks import provenance, report
from benchmarks.report import fastest_at


def _point(qc, ours, peer):
    def entry(r, us):
        return {
            "recall": r,
            "mean_us": us,
            "p99_us": us,
            "batch_recall": r,
            "batch_mean_us": us,
        }

    return {"query_cut": qc, "heap_factor": 0.9, "lsr": entry(*ours), "peer": entry(*peer)}


def test_fastest_at_picks_the_cheapest_point_reaching_the_target():
    points = [_point(3, (0.90, 10), (0.96, 20)), _point(5, (0.97, 30), (0.99, 40))]
    assert fastest_at(points, "lsr", 0.95, "single")["query_cut"] == 5
    assert fastest_at(points, "peer", 0.95, "batch")["mean_us"] == 20
    assert fastest_at(points, "lsr", 0.999, "single") is None


def test_summary_divides_ours_by_the_peer():
    points = [_point(3, (0.96, 10), (0.96, 20))]
    build = {"build_s": 2.0, "build_cpu_s": 1.0, "peak_rss_bytes": 100, "index_bytes": 50}
    systems = [
        {"label": "pyseismic-lsr", "build": {**build, "index_bytes": 100}},
        {"label": "peer", "build": build},  # the label under test in _point
    ]
    exact = {"exact_index": {"mean_us": 100.0}, "scipy_csr": {"mean_us": 200.0}}
    points[0]["pyseismic-lsr"] = points[0].pop("lsr")
    entry = report.summary(points, systems, exact, {"forward_bytes": 25})["peer"]
    assert entry["index_bytes_ratio"] == 0.5
    assert entry["build_cpu_ratio"] == 1.0
    assert entry["at_0.95_single"]["latency_ratio"] == pytest.approx(2.0)
    assert entry["exact_speedup_at_0.95"] == pytest.approx(5.0)


def test_our_faster_engine_is_exact_search_only_where_it_is_faster_and_reaches_the_target():
    points = [_point(3, (0.96, 50), (0.96, 100)), _point(5, (0.99, 80), (0.99, 120))]
    for point, (recall, us) in zip(points, [(1.0, 30), (1.0, 40)], strict=True):
        point[report.EXACT] = {"recall": recall, "mean_us": us, "batch_recall": recall,
                               "batch_mean_us": us}  # fmt: skip
    assert report.exact_engine(points)["mean_us"] == 35  # the median, not the luckiest point
    seismic = fastest_at(points, "lsr", 0.95, "single")
    peer = fastest_at(points, "peer", 0.95, "single")
    best = report.best_engine(seismic, report.exact_engine(points), 0.95, "single", peer)
    assert best["ours"]["engine"] == "exact" and best["latency_ratio"] == pytest.approx(0.35)
    slower = {**report.exact_engine(points), "mean_us": 60.0}
    best = report.best_engine(seismic, slower, 0.95, "single", peer)
    assert best["ours"]["engine"] == "seismic" and best["latency_ratio"] == pytest.approx(0.5)
    short = {**report.exact_engine(points), "recall": 0.9}
    assert report.best_engine(seismic, short, 0.95, "single", peer)["ours"]["engine"] == "seismic"
    assert report.best_engine(None, None, 0.95, "single", peer) == {
        "ours": None,
        "latency_ratio": None,
    }


def test_rerender_keeps_measurements_and_rewrites_markdown(tmp_path):
    point = _point(3, (0.96, 10), (0.96, 20))
    point["pyseismic-lsr"] = point.pop("peer")
    entry = {"mean_us": 1.0, "p99_us": 1.0}
    build = {"build_s": 1.0, "peak_rss_bytes": 1, "input_rss_bytes": 1, "index_bytes": 1}
    result = {
        "data": "tiny",
        "stats": {
            "n_docs": 1,
            "n_queries": 1,
            "doc_nnz_mean": 1.0,
            "doc_nnz_p5_p95": [1, 1],
            "query_nnz_mean": 1.0,
            "query_top3_mass": 1.0,
            "query_top10_mass": 1.0,
            "terms_used": 1,
            "terms_in_half_of_docs": 1,
            "forward_bytes": 1,
        },
        "systems": [
            {"label": "pyseismic-lsr", "params": {}, "build": build},
            {"label": "lsr", "params": {}, "build": build},
        ],
        "exact": {
            "queries": 1,
            "scipy_csr": entry,
            "exact_index": entry,
            "exact_index_batch_mean_us": 1.0,
            "agreement_with_scipy": 1.0,
        },
        "sweep": [point],
        "summary": {},
    }
    origin = provenance.record("python -m benchmarks.index", allow_dirty=True)
    payload = {"provenance": origin, "seconds": 1.0, "results": [result]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(payload))
    report.rerender(path)
    again = json.loads(path.read_text())
    assert again["results"][0]["sweep"] == [point]
    assert again["results"][0]["summary"]["lsr"]["at_0.95_single"]["latency_ratio"] == 0.5
    assert "python -m benchmarks.index" in (tmp_path / "r.md").read_text()
