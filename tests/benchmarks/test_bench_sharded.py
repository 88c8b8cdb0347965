"""benchmarks.sharded on a small synthetic collection: both indexes built by the CLI, measured."""

from __future__ import annotations

from benchmarks.sharded import markdown, measure


def test_a_small_run_measures_the_single_and_the_sharded_index(tmp_path):
    options = {"n_docs": 1000, "n_queries": 20, "shards": 2, "rounds": 1, "seed": 0}
    result = measure(options, cache=tmp_path)
    assert [row["shards"] for row in result["rows"]] == [1, 2]
    assert result["n_docs"] == 1000
    assert all(
        0.0 <= row["accuracy_at_10"] <= 1.0 and row["latency_us"] > 0 for row in result["rows"]
    )
    payload = {
        "provenance": {"command": "c", "date": "d", "commit": "x", "dirty": False, "changed": [],
                       "platform": "p", "cpu": {"model_name": "m", "family": 1, "model": 2,
                       "stepping": 3, "logical_cpus": 2, "flags": [], "caches": {}}},
        "options": options, "result": result, "load_before": "1 1 1", "load_after": "1 1 1",
    }  # fmt: skip
    assert len(result["shards_alone_us"]) == 2
    assert "| 2 |" in markdown(payload)
