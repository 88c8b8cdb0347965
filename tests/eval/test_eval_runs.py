"""eval/runs.py: BEIR's identical-id rule on search results, and reading TREC runs."""

from __future__ import annotations

import numpy as np
import pytest
from lsr.eval.runs import read_trec_run, without_identical_ids
from lsr.index import SearchResults

from lsr.errors import InputError

DOC_IDS = ["1", "2", "3", "4"]


def _results():
    docs = np.array([[0, 1, 2], [3, 2, -1]], dtype=np.int64)
    scores = np.array([[9.0, 8.0, 7.0], [6.0, 5.0, 0.0]], dtype=np.float32)
    return SearchResults(["2", "9"], docs, scores, DOC_IDS)


def test_hit_equal_to_query_id_is_dropped_and_depth_kept():
    kept = without_identical_ids(_results(), depth=2)
    assert kept.hits(0) == [("1", 9.0), ("3", 7.0)]


def test_queries_without_identical_hit_are_cut_to_depth():
    kept = without_identical_ids(_results(), depth=2)
    assert kept.hits(1) == [("4", 6.0), ("3", 5.0)]


def test_trec_run_round_trips_through_write_trec(tmp_path):
    path = tmp_path / "run.trec"
    _results().write_trec(path, tag="test")
    assert read_trec_run(path) == {"2": {"1": 9.0, "2": 8.0, "3": 7.0}, "9": {"4": 6.0, "3": 5.0}}


def test_malformed_run_line_names_file_and_line(tmp_path):
    path = tmp_path / "run.trec"
    path.write_text("q Q0 d 1 2.0 tag\nq Q0 d2 2 tag\n")
    with pytest.raises(InputError, match=r"run.trec, line 2: expected 6 columns"):
        read_trec_run(path)


def test_missing_run_file_is_named(tmp_path):
    with pytest.raises(InputError, match=r"nope\.trec: run file not found"):
        read_trec_run(tmp_path / "nope.trec")
