"""Small real samples of SciFact for the data tests: a few train queries with their positives and
a few dozen other documents, read from ../shared (the tests that use them are requires_shared)."""

from __future__ import annotations

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
