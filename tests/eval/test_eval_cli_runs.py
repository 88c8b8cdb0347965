"""``lsr eval`` runs through the console on a small real slice: report files, the Seismic sweep
and its PNG, ``lsr eval compare``, and a corrupt corpus line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import requires_shared
from eval_data import write_slice
from test_eval_cli import run_lsr

pytestmark = requires_shared


@pytest.fixture(scope="module")
def scifact_slice(tmp_path_factory):
    return write_slice(tmp_path_factory.mktemp("data") / "scifact-slice")


def test_eval_writes_runs_metrics_and_report(monkeypatch, capsys, tmp_path, scifact_slice):
    out = tmp_path / "out"
    status, stdout, _ = run_lsr(
        monkeypatch, capsys, "eval", "-m", "bm25", "-d", str(scifact_slice), "--out", str(out),
        "--cache-dir", str(tmp_path / "cache"), "--no-progress",
    )  # fmt: skip
    assert status == 0
    assert "| scifact-slice | bm25 | exact |" in stdout
    results = json.loads((out / "metrics.json").read_text())["results"]
    assert results[0]["n_queries"] == 20
    assert (out / "runs" / "scifact-slice.bm25.exact.trec").is_file()
    assert (out / "report.md").is_file()


def test_sweep_writes_the_recall_latency_curve(monkeypatch, capsys, tmp_path, scifact_slice):
    out = tmp_path / "out"
    status, stdout, _ = run_lsr(
        monkeypatch, capsys, "eval", "-m", "bm25", "-d", str(scifact_slice), "--out", str(out),
        "--cache-dir", str(tmp_path / "cache"), "--index", "seismic",
        "--sweep", "query_cut=1/5", "--no-progress",
    )  # fmt: skip
    assert status == 0
    points = json.loads((out / "sweep.json").read_text())
    assert [p["params"]["query_cut"] for p in points] == [1, 5]
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "recall-latency curve" in stdout


def test_compare_prints_both_runs(monkeypatch, capsys, tmp_path, scifact_slice):
    runs = []
    for name, index in (("a", "exact"), ("b", "seismic")):
        out = tmp_path / name
        run_lsr(
            monkeypatch, capsys, "eval", "-m", "bm25", "-d", str(scifact_slice), "--out", str(out),
            "--cache-dir", str(tmp_path / "cache"), "--index", index, "--no-progress",
        )  # fmt: skip
        runs.append(str(out / "runs" / f"scifact-slice.bm25.{index}.trec"))
    status, stdout, _ = run_lsr(
        monkeypatch, capsys, "eval", "compare", *runs, "-d", str(scifact_slice)
    )
    assert status == 0
    assert "scifact-slice.bm25.exact.trec" in stdout
    assert "scifact-slice.bm25.seismic.trec" in stdout


def test_corrupt_corpus_line_is_named(monkeypatch, capsys, tmp_path, scifact_slice):
    folder = write_slice(tmp_path / "broken")
    with gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        lines = handle.readlines()
    lines[6] = lines[6][:20] + "\n"
    with gzip.open(folder / "corpus.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.writelines(lines)
    status, _, err = run_lsr(
        monkeypatch, capsys, "eval", "-m", "bm25", "-d", str(folder), "--out", str(tmp_path / "o"),
        "--cache-dir", str(tmp_path / "cache"), "--no-progress",
    )  # fmt: skip
    assert status == 2
    assert "corpus.jsonl.gz, line 7: invalid JSON" in err


# Seismic without pruning (every posting kept, float32 weights) nor skipping (heap_factor 0):
# exact search, so a sharded index's merged run is the exact run.
EXACT_SEISMIC = "pruning=fixed_size,n_postings=100000,value_dtype=float32,query_cut=100000,"
EXACT_SEISMIC += "heap_factor=0.0,engine=seismic"


def test_eval_searches_a_sharded_index_as_one(monkeypatch, capsys, tmp_path, scifact_slice):
    from lsr.eval.runs import read_trec_run

    runs, metrics = {}, {}
    for name, extra in (
        ("exact", []),
        ("sharded", ["--index", "seismic", "--shards", "3", "--seismic-params", EXACT_SEISMIC]),
    ):
        out = tmp_path / name
        status, _, err = run_lsr(
            monkeypatch, capsys, "eval", "-m", "bm25", "-d", str(scifact_slice), "--out",
            str(out), "--cache-dir", str(tmp_path / "cache"), "--no-progress", *extra,
        )  # fmt: skip
        assert status == 0, err
        (result,) = json.loads((out / "metrics.json").read_text())["results"]
        kind = result["index"]
        runs[name] = read_trec_run(out / "runs" / f"scifact-slice.bm25.{kind}.trec")
        metrics[name] = result["metrics"]
    index_dir = json.loads((tmp_path / "sharded" / "metrics.json").read_text())["results"][0]
    assert (Path(index_dir["index_dir"]) / "shards.json").is_file()
    for query, ranked in runs["exact"].items():
        top = sorted(ranked.items(), key=lambda hit: (-hit[1], hit[0]))[:10]
        found = runs["sharded"][query]
        assert [doc for doc, _ in top] == sorted(found, key=lambda d: (-found[d], d))[:10]
        assert [found[doc] for doc, _ in top] == pytest.approx([s for _, s in top], rel=1e-5)
    assert metrics["sharded"] == pytest.approx(metrics["exact"], abs=1e-6)


def test_shards_without_the_seismic_index_are_refused(monkeypatch, capsys, tmp_path):
    status, _, err = run_lsr(
        monkeypatch, capsys, "eval", "-m", "bm25", "-d", "nosuchset", "--shards", "2",
        "--data-dir", str(tmp_path), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert status == 2
    assert "--shards needs --index seismic" in err
