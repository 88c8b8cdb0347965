"""``lsr eval`` runs through the console on a small real slice: report files, the Seismic sweep
and its PNG, ``lsr eval compare``, and a corrupt corpus line."""

from __future__ import annotations

import gzip
import json

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
