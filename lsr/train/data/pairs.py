"""Labelled training pairs: a BEIR folder's train qrels, or a JSONL file of examples.

- A dataset name (``scifact``, resolved on the data path as :func:`lsr.datasets.load_dataset`
  does) reads the ``train`` split's qrels, or the split it names (``scifact/dev``): one
  :class:`TrainingExample` per judged (query, document) pair with grade >= 1, in qrels order.
- A ``.jsonl`` file holds one example a line:
  ``{"query": str, "positive": str, "negatives": [str, ...]?, "scores": [float, ...]?}``,
  ``scores`` being a teacher's scores of the positive then each negative. Any malformed line is
  reported with its file, line and field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lsr.datasets import load_dataset, split_spec
from lsr.errors import DatasetError, where
from lsr.jsonl import iter_jsonl
from lsr.train.data.corpus import Corpus
from lsr.train.examples import TrainingExample

TRAIN_SPLIT = "train"


def load_pairs(source: str | os.PathLike, data_dir: str | None = None) -> list[TrainingExample]:
    """Examples from a ``.jsonl``/``.jsonl.gz`` file, or from a dataset's train qrels."""
    path = Path(source)
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return read_jsonl_pairs(path)
    return qrels_pairs(str(source), data_dir)


def qrels_pairs(spec: str, data_dir: str | None = None) -> list[TrainingExample]:
    """One example per relevant (query, document) pair of the dataset's split (default train)."""
    name, split = split_spec(spec)
    dataset = load_dataset(name, data_dir)
    split = split or TRAIN_SPLIT
    if split not in dataset.splits():
        raise DatasetError(
            f"{dataset.name}: no {split!r} split to train on (splits: {', '.join(dataset.splits())})"
        )
    queries = dataset.queries(split)
    corpus = Corpus.from_dataset(dataset)
    texts = dict(zip(corpus.ids, corpus.texts))
    examples = []
    for query_id, judged in dataset.qrels(split).items():
        if query_id not in queries:
            raise DatasetError(f"{dataset.name}/{split}: qrels name query {query_id!r}, unknown")
        for doc_id, grade in judged.items():
            if grade < 1:
                continue
            if doc_id not in texts:
                raise DatasetError(
                    f"{dataset.name}/{split}: qrels name document {doc_id!r}, not in the corpus"
                )
            examples.append(TrainingExample(queries[query_id], texts[doc_id]))
    if not examples:
        raise DatasetError(f"{dataset.name}/{split}: no relevant pair to train on")
    return examples


def read_jsonl_pairs(path: Path) -> list[TrainingExample]:
    """Examples of a JSONL file, one object a line (see the module docstring)."""
    examples = [_example(record, path, number) for number, record in iter_jsonl(path, DatasetError)]
    if not examples:
        raise DatasetError(f"{path}: no examples")
    return examples


def _example(record: dict[str, Any], path: Path, number: int) -> TrainingExample:
    def text(field: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise DatasetError(f"{where(path, number, field)}: expected a non-empty string")
        return value

    negatives = record.get("negatives", [])
    if not isinstance(negatives, list):
        raise DatasetError(f"{where(path, number, 'negatives')}: expected a list of strings")
    scores = record.get("scores")
    if scores is not None and (
        not isinstance(scores, list)
        or not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores)
        or len(scores) != 1 + len(negatives)
    ):
        raise DatasetError(
            f"{where(path, number, 'scores')}: expected {1 + len(negatives)} numbers "
            "(the positive's score, then each negative's)"
        )
    return TrainingExample(
        query=text("query", record.get("query")),
        positive=text("positive", record.get("positive")),
        negatives=tuple(text("negatives", n) for n in negatives),
        scores=None if scores is None else tuple(float(s) for s in scores),
    )
