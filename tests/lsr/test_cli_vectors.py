"""`lsr` and `lsr vectors` through the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lsr.vector_io import read_vectors, write_vectors
from lsr.vectors import SparseCollection, VectorMetadata

LSR = [str(Path(sys.executable).with_name("lsr"))]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*LSR, *args], capture_output=True, text=True, timeout=120)


def test_help_lists_the_subcommands():
    result = run("--help")
    assert result.returncode == 0
    assert "vectors" in result.stdout


def test_convert_round_trip_and_stats(tmp_path):
    meta = VectorMetadata(4, ("a", "b", "c", "d"))
    collection = SparseCollection.from_rows(["x", "y"], [([0, 3], [1.0, 2.0]), ([3], [0.5])], meta)
    write_vectors(tmp_path / "v.parquet", collection)
    assert (
        run("vectors", "convert", str(tmp_path / "v.parquet"), str(tmp_path / "v.jsonl")).returncode
        == 0
    )
    lines = (tmp_path / "v.jsonl").read_text().splitlines()
    assert json.loads(lines[1]) == {"id": "y", "content": "", "vector": {"d": 0.5}}
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a\nb\nc\nd\n")
    result = run(
        "vectors",
        "convert",
        str(tmp_path / "v.jsonl"),
        str(tmp_path / "w.parquet"),
        "--vocab",
        str(vocab),
    )
    assert result.returncode == 0, result.stderr
    back = read_vectors(tmp_path / "w.parquet")
    assert back.indices.tolist() == [0, 3, 3]

    stats = json.loads(run("vectors", "stats", str(tmp_path / "w.parquet"), "--json").stdout)
    assert stats["count"] == 2 and stats["nnz_total"] == 3 and stats["distinct_terms"] == 2
    # term 0 is in 1 of 2 vectors, term 3 in 2 of 2: FLOPS = 0.5^2 + 1^2
    assert stats["flops"] == 1.25


def test_errors_are_one_line_without_traceback(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "vector": {"t": -2}}\n')
    result = run("vectors", "convert", str(tmp_path / "bad.jsonl"), str(tmp_path / "out.parquet"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bad.jsonl: vector 'a' has weight -2.0" in result.stderr
    assert not (tmp_path / "out.parquet").exists()
    result = run("vectors", "convert", str(tmp_path / "bad.jsonl"), str(tmp_path / "out.csv"))
    assert "unknown extension '.csv'" in result.stderr
