"""Small real test collections cut from ../shared/data for the evaluation tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from conftest import SHARED_DATA

from lsr.datasets import load_dataset


def write_slice(
    folder: Path, name: str = "scifact", n_queries: int = 20, n_other: int = 40
) -> Path:
    """A BEIR folder with the first ``n_queries`` test queries of a shared collection, their
    relevant documents and ``n_other`` further documents (real text, real judgements)."""
    dataset = load_dataset(SHARED_DATA / name)
    qrels = dict(sorted(dataset.qrels("test").items())[:n_queries])
    relevant = {doc for judged in qrels.values() for doc in judged}
    docs, others = [], 0
    for doc in dataset.docs():
        if doc.id in relevant or others < n_other:
            others += doc.id not in relevant
            docs.append({"_id": doc.id, "title": doc.title, "text": doc.text})
    queries = [{"_id": q, "text": t} for q, t in dataset.queries().items() if q in qrels]
    folder.mkdir(parents=True)
    _write_jsonl(folder / "corpus.jsonl.gz", docs)
    _write_jsonl(folder / "queries.jsonl.gz", queries)
    (folder / "qrels").mkdir()
    rows = [f"{q}\t{d}\t{g}" for q, judged in qrels.items() for d, g in judged.items()]
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n"
    )
    return folder


def _write_jsonl(path: Path, records: list[dict]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
