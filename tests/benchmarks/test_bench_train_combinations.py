"""benchmarks.train_combinations: its FLOPS figures against a hand computation, and the report."""

from __future__ import annotations

import pytest

from benchmarks.train_combinations import render, vector_figures
from lsr.vectors import SparseCollection, VectorMetadata

META = VectorMetadata(vocab_size=3, vocabulary=("0", "1", "2"))


def collection(rows):
    return SparseCollection.from_dicts([str(i) for i in range(len(rows))], rows, META)


def test_flops_are_the_expected_multiplications_per_pair():
    # queries: term 0 in both, term 1 in one -> p_q = (1, 0.5, 0)
    queries = collection([{"0": 1.0, "1": 2.0}, {"0": 0.5}])
    # documents: term 0 in 1 of 4, term 1 in 2, term 2 in 4 -> p_d = (0.25, 0.5, 1)
    documents = collection(
        [{"0": 1.0, "2": 1.0}, {"1": 1.0, "2": 1.0}, {"1": 3.0, "2": 1.0}, {"2": 1.0}]
    )
    figures = vector_figures(queries, documents)
    assert figures["flops"] == pytest.approx(1 * 0.25 + 0.5 * 0.5 + 0)
    assert figures["corpus_flops"] == pytest.approx(0.25**2 + 0.5**2 + 1)
    assert figures["query_nnz"] == 1.5
    assert figures["doc_nnz"] == 1.75


def test_the_report_has_a_row_per_run_and_the_commands():
    row = {"ndcg@10": 0.5, "query_nnz": 1.0, "doc_nnz": 2.0, "flops": 0.1, "corpus_flops": 0.2}
    provenance = {
        "command": "python -m benchmarks.train_combinations", "commit": "abc", "dirty": False,
        "changed": [], "date": "d", "platform": "p",
        "cpu": {"model_name": "cpu", "family": 1, "model": 2, "stepping": 3,
                "logical_cpus": 2, "flags": [], "caches": {}},
    }  # fmt: skip
    result = {
        "provenance": provenance,
        "steps": 114,
        "rows": [
            {"query": "-", "document": "-", **row},
            {"query": "mlp", "document": "mlm", "train_command": "lsr train --x", **row},
        ],
    }
    text = render(result)
    assert "| mlp | mlm | 0.5000 | 1.0 | 2.0 | 0.10 | 0.20 |" in text
    assert "    lsr train --x" in text
