"""``lsr eval`` from the console: parameter parsing and clear errors on bad input."""

from __future__ import annotations

import gzip
import shutil
import sys

import pytest
from conftest import SHARED_DATA, requires_shared

from lsr.cli import main
from lsr.cli.eval import parse_assignments, parse_sweep, parse_value, split_seismic_params
from lsr.errors import InputError


def run_lsr(monkeypatch, capsys, *args):
    """Run the console entry point in-process; returns (exit status, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["lsr", *args])
    status = 0
    try:
        main()
    except SystemExit as exc:
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_bm25_eval(monkeypatch, capsys, tmp_path, dataset, *args):
    """``lsr eval -m bm25 -d DATASET ARGS`` writing its report and cache under ``tmp_path``."""
    return run_lsr(
        monkeypatch, capsys, "eval", "-m", "bm25", "-d", dataset, *args,
        "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip


def test_values_are_typed():
    assert [parse_value(v) for v in ("10", "0.8", "true", "float16")] == [10, 0.8, True, "float16"]


def test_assignments_split_on_commas_across_options():
    parsed = parse_assignments(("query_cut=5,heap_factor=0.9", "n_postings=100"), "--x")
    assert parsed == {"query_cut": "5", "heap_factor": "0.9", "n_postings": "100"}


def test_assignment_without_value_is_refused():
    with pytest.raises(InputError, match="--x: expected NAME=VALUE, got 'query_cut'"):
        parse_assignments(("query_cut",), "--x")


def test_seismic_params_go_to_build_or_search():
    build, search = split_seismic_params({"n_postings": 100, "query_cut": 5})
    assert (build, search) == ({"n_postings": 100}, {"query_cut": 5})


def test_unknown_seismic_param_is_named():
    with pytest.raises(InputError, match="unknown parameter 'cut'"):
        split_seismic_params({"cut": 5})


def test_sweep_values_are_slash_separated():
    assert parse_sweep(("query_cut=3/5", "heap_factor=0.7")) == {
        "query_cut": [3, 5],
        "heap_factor": [0.7],
    }


def test_eval_without_model_is_a_usage_error(monkeypatch, capsys):
    status, _, err = run_lsr(monkeypatch, capsys, "eval", "--dataset", "scifact")
    assert status == 2
    assert "give at least one --model and one --dataset" in err


def test_unknown_dataset_is_a_clear_error(monkeypatch, capsys, tmp_path):
    status, _, err = run_bm25_eval(
        monkeypatch, capsys, tmp_path, "nosuchset", "--data-dir", str(tmp_path)
    )
    assert status == 2
    assert "Error: unknown dataset 'nosuchset'" in err


@requires_shared
def test_missing_qrels_split_is_a_clear_error(monkeypatch, capsys, tmp_path):
    status, _, err = run_bm25_eval(
        monkeypatch, capsys, tmp_path, str(SHARED_DATA / "vaswani") + "/dev"
    )
    assert status == 2
    assert "no qrels for split 'dev'" in err
    assert "splits here: test" in err


@requires_shared
def test_corrupt_queries_line_is_named(monkeypatch, capsys, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(SHARED_DATA / "vaswani", folder)
    with gzip.open(folder / "queries.jsonl.gz", "rt", encoding="utf-8") as handle:
        lines = handle.readlines()
    lines[4] = '{"_id": "5", "text": \n'
    with gzip.open(folder / "queries.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.writelines(lines)
    status, _, err = run_bm25_eval(monkeypatch, capsys, tmp_path, str(folder))
    assert status == 2
    assert "queries.jsonl.gz, line 5: invalid JSON" in err


def test_sweeping_a_build_parameter_is_named_before_any_work(monkeypatch, capsys, tmp_path):
    status, _, err = run_bm25_eval(
        monkeypatch, capsys, tmp_path, "nosuchset", "--index", "seismic",
        "--sweep", "n_postings=100/200", "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert status == 2
    assert "--sweep n_postings: n_postings is a build parameter" in err
