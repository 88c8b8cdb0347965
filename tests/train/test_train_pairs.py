"""Training pairs from a BEIR folder's train qrels and from JSONL files."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED_DATA, requires_shared

from lsr.datasets import BeirFolder
from lsr.errors import DatasetError
from lsr.train.data.pairs import load_pairs


@requires_shared
def test_scifact_train_qrels_give_one_example_per_relevant_pair():
    dataset = BeirFolder(SHARED_DATA / "scifact")
    qrels = dataset.qrels("train")
    expected = sum(grade >= 1 for judged in qrels.values() for grade in judged.values())
    examples = load_pairs("scifact", str(SHARED_DATA))
    assert len(examples) == expected
    first_query, judged = next(iter(qrels.items()))
    first_doc = next(iter(judged))
    text = next(d.full_text for d in dataset.docs() if d.id == first_doc)
    assert examples[0].query == dataset.queries("train")[first_query]
    assert examples[0].positive == text


@requires_shared
def test_a_missing_split_is_named():
    with pytest.raises(DatasetError, match="no 'dev' split"):
        load_pairs(f"{SHARED_DATA / 'scifact'}/dev")


def write_lines(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def test_jsonl_pairs_with_negatives_and_scores(tmp_path):
    path = write_lines(
        tmp_path / "pairs.jsonl",
        [
            {"query": "q1", "positive": "p1"},
            {"query": "q2", "positive": "p2", "negatives": ["n1", "n2"], "scores": [3, 1.5, 0]},
        ],
    )
    first, second = load_pairs(path)
    assert (first.query, first.positive, first.negatives, first.scores) == ("q1", "p1", (), None)
    assert second.negatives == ("n1", "n2")
    assert second.scores == (3.0, 1.5, 0.0)


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"positive": "p"}, "query"),
        ({"query": "q", "positive": ""}, "positive"),
        ({"query": "q", "positive": "p", "negatives": "n"}, "negatives"),
        ({"query": "q", "positive": "p", "negatives": ["n"], "scores": [1.0]}, "scores"),
    ],
)
def test_a_bad_line_is_named_by_file_line_and_field(tmp_path, record, field):
    path = write_lines(tmp_path / "pairs.jsonl", [{"query": "q", "positive": "p"}, record])
    with pytest.raises(DatasetError, match=rf"pairs.jsonl, line 2, field '{field}'"):
        load_pairs(path)
