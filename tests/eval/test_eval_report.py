"""eval/report.py: the Markdown tables and metrics.json."""

from __future__ import annotations

import json

from lsr.eval.latency import Latency
from lsr.eval.report import EvalRecord, results_table, summary_table, write_report

LATENCY = Latency(1.0, 0.5, 3.0, 2)


def _record(model, dataset, ndcg, index="exact", accuracy=None):
    metrics = {
        "ndcg@10": ndcg,
        "recall@100": 0.5,
        "recall@1000": 0.9,
        "mrr@10": 0.4,
        "map@100": 0.3,
    }
    return EvalRecord(model, dataset, "test", index, metrics, 2, True, LATENCY, LATENCY, accuracy)


RECORDS = [
    _record("bm25", "scifact", 0.6),
    _record("splade", "scifact", 0.7),
    _record("bm25", "vaswani", 0.4),
]


def test_summary_has_datasets_as_rows_and_the_average():
    lines = summary_table(RECORDS).splitlines()
    assert lines[0] == "| nDCG@10 | bm25 (exact) | splade (exact) |"
    assert lines[2] == "| scifact | 0.600 | 0.700 |"
    assert lines[3] == "| vaswani | 0.400 | - |"
    assert lines[4] == "| **average** | 0.500 | 0.700 |"


def test_results_table_shows_accuracy_only_for_approximate_search():
    table = results_table([_record("m", "d", 0.5), _record("m", "d", 0.5, "seismic", 0.98)])
    exact_row, seismic_row = table.splitlines()[2:]
    assert "| - | 1.00 / 0.50 / 3.00 |" in exact_row
    assert "| 0.980 |" in seismic_row


def test_write_report_leaves_metrics_json_and_report(tmp_path):
    write_report(tmp_path, RECORDS, "lsr eval --model bm25")
    payload = json.loads((tmp_path / "metrics.json").read_text())
    assert payload["command"] == "lsr eval --model bm25"
    assert payload["results"][1]["metrics"]["ndcg@10"] == 0.7
    assert payload["results"][0]["latency_ms"]["search"]["p99_ms"] == 3.0
    assert "lsr eval --model bm25" in (tmp_path / "report.md").read_text()
