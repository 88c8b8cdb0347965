"""eval/compare.py: paired significance test between TREC runs on hand-made qrels."""

from __future__ import annotations

import numpy as np
import pytest
from lsr.eval.compare import compare_runs
from lsr.index import SearchResults

N_QUERIES = 30
DOC_IDS = [f"d{i}" for i in range(10)]
QRELS = {f"q{i:02d}": {"d0": 1} for i in range(N_QUERIES)}


def _write_run(path, relevant_ranks):
    """A run placing the relevant document d0 of query i at ``relevant_ranks[i]`` (1-based)."""
    docs = np.empty((N_QUERIES, 10), dtype=np.int64)
    for i, rank in enumerate(relevant_ranks):
        order = list(range(1, 10))
        order.insert(rank - 1, 0)
        docs[i] = order
    scores = np.tile(np.arange(10, 0, -1, dtype=np.float32), (N_QUERIES, 1))
    SearchResults(list(QRELS), docs, scores, DOC_IDS).write_trec(path)
    return path


def test_better_run_is_significantly_better(tmp_path):
    a = _write_run(tmp_path / "a.trec", [1] * N_QUERIES)
    b = _write_run(tmp_path / "b.trec", [4] * N_QUERIES)
    result = compare_runs([a, b], QRELS, metrics=["mrr@10"]).to_dict()
    assert result["a.trec"]["scores"]["mrr@10"] == pytest.approx(1.0)
    assert result["b.trec"]["scores"]["mrr@10"] == pytest.approx(0.25)
    assert result["a.trec"]["comparisons"]["b.trec"]["mrr@10"] < 0.05


def test_runs_trading_wins_are_not_significantly_different(tmp_path):
    a = _write_run(tmp_path / "a.trec", [1, 2] * (N_QUERIES // 2))
    b = _write_run(tmp_path / "b.trec", [2, 1] * (N_QUERIES // 2))
    result = compare_runs([a, b], QRELS, metrics=["mrr@10"]).to_dict()
    assert result["a.trec"]["comparisons"]["b.trec"]["mrr@10"] > 0.05
    assert result["a.trec"]["win_tie_loss"]["b.trec"]["mrr@10"] == {"W": 15, "T": 0, "L": 15}


def test_runs_with_one_file_name_keep_apart(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a = _write_run(tmp_path / "x" / "run.trec", [1] * N_QUERIES)
    b = _write_run(tmp_path / "y" / "run.trec", [3] * N_QUERIES)
    result = compare_runs([a, b], QRELS, metrics=["mrr@10"]).to_dict()
    assert result["model_names"] == ["x/run.trec", "y/run.trec"]
