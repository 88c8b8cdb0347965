"""What an evaluation leaves behind: ``metrics.json`` and a Markdown report.

The report has two tables: every (dataset, model, index) row with all metrics, accuracy@10 and
latencies; and a summary of nDCG@10 with datasets as rows, models as columns and their average,
the layout of the BEIR paper's tables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsr.eval.latency import Latency
from lsr.eval.metrics import METRIC_LABELS, METRICS

from lsr.atomic import write_text_atomic


@dataclass(frozen=True)
class EvalRecord:
    """The evaluation of one model on one dataset with one index."""

    model: str
    dataset: str
    split: str
    index: str
    metrics: dict[str, float]
    n_queries: int
    ignore_identical_ids: bool
    encode_latency: Latency
    search_latency: Latency
    accuracy_at_10: float | None = None
    run_file: str | None = None
    index_dir: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def system(self) -> str:
        """Column name of this model and index in the summary table."""
        return f"{self.model} ({self.index})"

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "split": self.split,
            "index": self.index,
            "metrics": self.metrics,
            "n_queries": self.n_queries,
            "ignore_identical_ids": self.ignore_identical_ids,
            "accuracy@10": self.accuracy_at_10,
            "latency_ms": {
                "encode": self.encode_latency.to_json(),
                "search": self.search_latency.to_json(),
            },
            "run_file": self.run_file,
            "index_dir": self.index_dir,
            "params": self.params,
        }


def _latency_cell(latency: Latency) -> str:
    return f"{latency.mean_ms:.2f} / {latency.p50_ms:.2f} / {latency.p99_ms:.2f}"


def results_table(records: Sequence[EvalRecord], metrics: Sequence[str] = METRICS) -> str:
    """Every record on one row: metrics, accuracy@10 against exact search, latencies."""
    header = ["dataset", "model", "index", *(METRIC_LABELS.get(m, m) for m in metrics)]
    header += ["acc@10", "encode ms (mean/p50/p99)", "search ms (mean/p50/p99)"]
    rows = []
    for r in records:
        accuracy = f"{r.accuracy_at_10:.3f}" if r.accuracy_at_10 is not None else "-"
        scores = [f"{r.metrics[m]:.3f}" for m in metrics]
        latencies = [_latency_cell(r.encode_latency), _latency_cell(r.search_latency)]
        rows.append([r.dataset, r.model, r.index, *scores, accuracy, *latencies])
    return _markdown(header, rows)


def summary_table(records: Sequence[EvalRecord], metric: str = "ndcg@10") -> str:
    """``metric`` with datasets as rows and systems as columns, plus each system's average over
    the datasets it was run on."""
    systems = list(dict.fromkeys(r.system for r in records))
    datasets = list(dict.fromkeys(r.dataset for r in records))
    value = {(r.dataset, r.system): r.metrics[metric] for r in records}
    rows = [[d, *(_cell(value.get((d, s))) for s in systems)] for d in datasets]
    averages = []
    for s in systems:
        scores = [value[(d, s)] for d in datasets if (d, s) in value]
        averages.append(_cell(sum(scores) / len(scores) if scores else None))
    rows.append(["**average**", *averages])
    return _markdown([f"{METRIC_LABELS.get(metric, metric)}", *systems], rows)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown_report(records: Sequence[EvalRecord], command: str) -> str:
    """The whole report: both tables and the command that produced them."""
    return (
        f"# lsr eval\n\n```\n{command}\n```\n\n"
        f"{summary_table(records)}\n{results_table(records)}\n"
        "Metrics follow trec_eval (ties by document id descending) and are averaged over every "
        "judged query of the split; a judged query without hits counts as zero. Latencies are "
        "per query, one query at a time.\n"
    )


def write_report(out_dir: str | os.PathLike, records: Sequence[EvalRecord], command: str) -> Path:
    """Write ``metrics.json`` and ``report.md`` into ``out_dir``; returns the report's path."""
    out_dir = Path(out_dir)
    payload = {"command": command, "results": [r.to_json() for r in records]}
    write_text_atomic(out_dir / "metrics.json", json.dumps(payload, indent=2) + "\n")
    return write_text_atomic(out_dir / "report.md", markdown_report(records, command))
