"""benchmarks.search_gaps on a tiny index: the sleeps stay out of the CPU counted per search."""

from __future__ import annotations

import numpy as np
from lsr.index import SeismicIndex

from benchmarks import provenance
from benchmarks.search_gaps import markdown, measure
from lsr.vectors import SparseCollection, VectorMetadata


def tiny_index() -> SeismicIndex:
    rng = np.random.default_rng(0)
    rows = [
        (rng.choice(50, size=5, replace=False), rng.random(5).astype(np.float32))
        for _ in range(200)
    ]
    return SeismicIndex.build(
        SparseCollection.from_rows([f"d{i}" for i in range(200)], rows, VectorMetadata(50))
    )


def test_each_gap_has_a_median_per_round_and_sleeps_are_not_counted():
    index = tiny_index()
    rows = [(np.array([1, 7]), np.array([1.0, 0.5], np.float32))] * 8
    result = measure(index, rows, [0.0, 20.0], rounds=2)
    assert result["queries_per_round"] == 4
    assert [g["gap_ms"] for g in result["gaps"]] == [0.0, 20.0]
    for gap in result["gaps"]:
        assert len(gap["cpu_ms"]) == 2
        assert gap["median_cpu_ms"] == np.median(gap["cpu_ms"])
        # A search of 200 documents takes microseconds: the 20 ms slept are not in its CPU.
        assert 0 <= gap["median_cpu_ms"] < 10
    payload = {
        "provenance": provenance.record("c", allow_dirty=True), "index": "tiny", "rounds": 2,
        "result": result, "load": [0.0, 0.0],
    }  # fmt: skip
    assert "| 20 |" in markdown(payload)
