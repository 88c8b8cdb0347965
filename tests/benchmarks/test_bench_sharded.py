"""benchmarks.sharded on a small synthetic collection: both indexes built by the CLI, measured."""

from __future__ import annotations

import click
import pytest

from benchmarks.sharded import _settings, best_at_target, markdown, measure


@pytest.mark.slow
def test_a_small_run_measures_the_single_and_the_sharded_indexes(tmp_path):
    options = {"n_docs": 1000, "n_queries": 20, "shards": (2, 3), "rounds": 1, "seed": 0,
               "settings": ((10, 0.8, False), (3, 1.0, True)), "target": 0.5, "cache": str(tmp_path)}  # fmt: skip
    result = measure(options)
    kinds = [(row["shards"], row["shared"]) for row in result["rows"]]
    assert kinds == [(1, False), (2, False), (2, True), (3, True)] * 2
    assert result["n_docs"] == 1000
    assert all(
        0.0 <= row["accuracy_at_10"] <= 1.0 and row["latency_us"] > 0 for row in result["rows"]
    )
    assert (tmp_path / f"{result['dataset']}-exact-top10-20.npz").is_file()
    payload = {
        "provenance": {"command": "c", "date": "d", "commit": "x", "dirty": False, "changed": [],
                       "platform": "p", "cpu": {"model_name": "m", "family": 1, "model": 2,
                       "stepping": 3, "logical_cpus": 2, "flags": [], "caches": {}}},
        "options": options, "result": result, "load_before": "1 1 1", "load_after": "1 1 1",
    }  # fmt: skip
    assert "| 3 | yes | 3 | 1.0, global order |" in markdown(payload)
    assert [row["global_order"] for row in result["rows"]] == [False] * 4 + [True] * 4


def test_the_fastest_setting_reaching_the_target_is_chosen_per_index():
    rows = [
        {"shards": 1, "shared": False, "latency_us": 5.0, "accuracy_at_10": 0.94},
        {"shards": 1, "shared": False, "latency_us": 9.0, "accuracy_at_10": 0.97},
        {"shards": 2, "shared": True, "latency_us": 4.0, "accuracy_at_10": 0.96},
        {"shards": 2, "shared": True, "latency_us": 3.0, "accuracy_at_10": 0.95},
    ]
    best = best_at_target(rows, 0.95)
    assert best[(1, False)]["latency_us"] == 9.0 and best[(2, True)]["latency_us"] == 3.0


def test_settings_name_the_global_order_with_a_third_part():
    assert _settings(None, None, "8:1.0,6:0.9:g") == ((8, 1.0, False), (6, 0.9, True))
    with pytest.raises(click.BadParameter, match=r"6:0\.9:x"):
        _settings(None, None, "8:1.0,6:0.9:x")
