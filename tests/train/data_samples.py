"""Small real samples of SciFact for the data tests: a few train queries with their positives and
a few dozen other documents, read from ../shared (the tests that use them are requires_shared)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from conftest import SHARED_DATA

from lsr.datasets import BeirFolder
from lsr.train.data.corpus import Corpus
from lsr.train.examples import TrainingExample


def scifact() -> BeirFolder:
    return BeirFolder(SHARED_DATA / "scifact")


def scifact_sample(n_queries: int = 12, n_other: int = 50) -> tuple[Corpus, list[TrainingExample]]:
    """The first ``n_queries`` train queries (by id) and every query with several positives
    among the first 200, one example per (query, positive), over a corpus of their positives
    and the first ``n_other`` other documents."""
    dataset = scifact()
    qrels = dataset.qrels("train")
    texts = dataset.queries()
    ordered = sorted(qrels, key=int)
    chosen = ordered[:n_queries] + [q for q in ordered[n_queries:200] if len(qrels[q]) > 1]
    positive_ids = {d for q in chosen for d in qrels[q]}
    ids, docs, others = [], [], 0
    for doc in dataset.docs():
        is_positive = doc.id in positive_ids
        if is_positive or others < n_other:
            ids.append(doc.id)
            docs.append(doc.full_text)
            others += not is_positive
    text_of = dict(zip(ids, docs))
    examples = [TrainingExample(texts[q], text_of[d]) for q in chosen for d in sorted(qrels[q])]
    return Corpus.of(ids, docs), examples


def write_scifact_slice(folder: Path, n_queries: int = 12, n_other: int = 30) -> Path:
    """A BEIR folder of the sample: ``train`` qrels of its queries, the corpus around them."""
    dataset = scifact()
    corpus, examples = scifact_sample(n_queries, n_other)
    qrels = dataset.qrels("train")
    chosen = {
        q: t
        for q, t in dataset.queries().items()
        if q in qrels and t in {e.query for e in examples}
    }
    folder.mkdir(parents=True)
    by_id = {d.id: d for d in dataset.docs() if d.id in set(corpus.ids)}
    _write_jsonl(
        folder / "corpus.jsonl.gz",
        [{"_id": i, "title": by_id[i].title, "text": by_id[i].text} for i in corpus.ids],
    )
    _write_jsonl(folder / "queries.jsonl.gz", [{"_id": q, "text": t} for q, t in chosen.items()])
    (folder / "qrels").mkdir()
    rows = [f"{q}\t{d}\t{g}" for q in chosen for d, g in qrels[q].items()]
    (folder / "qrels" / "train.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n"
    )
    return folder


def _write_jsonl(path: Path, records: list[dict]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)
