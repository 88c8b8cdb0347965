"""The encoding benchmark's harness: interleaving, warm-up, medians, a small real run."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, requires_shared

from benchmarks.encode import latencies, rotations, throughput


def test_rotations_change_who_goes_first():
    assert [rotations(["a", "b", "c"], turn)[0] for turn in range(4)] == ["a", "b", "c", "a"]


def test_throughput_warms_up_then_interleaves_the_rounds():
    calls = []
    systems = {name: (lambda texts, name=name: calls.append((name, len(texts)))) for name in "ab"}
    seconds, _ = throughput(["t"] * 5, systems, repeats=3, warmup=2)
    assert calls == [("a", 2), ("b", 2), ("a", 5), ("b", 5), ("b", 5), ("a", 5), ("a", 5), ("b", 5)]
    assert {name: len(times) for name, times in seconds.items()} == {"a": 3, "b": 3}


def test_latencies_take_turns_query_by_query():
    calls = []
    paths = {name: (lambda q, name=name: calls.append((name, q))) for name in "ab"}
    stats = latencies(["q1", "q2"], paths, warmup=1)
    assert calls[2:] == [("a", "q1"), ("b", "q1"), ("b", "q2"), ("a", "q2")]
    assert set(stats["a"]) == {"p50_us", "p99_us", "cpu_p50_us"}


@requires_shared
def test_a_small_run_agrees_with_the_peer_and_records_where_it_ran(tmp_path):
    command = [sys.executable, "-m", "benchmarks.encode", "--docs", "4", "--repeats", "1"]
    command += ["--queries", "4", "--warmup", "1", "--allow-dirty", "--out", str(tmp_path / "r")]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["same_vectors"] and result["n_docs"] == 4
    assert set(result["query_stages_cpu_us"]) == {"tokenizer", "model", "pooling", "rest", "total"}
    report = (tmp_path / "r.md").read_text()
    assert result["provenance"]["commit"] in report and "CPU: " in report
