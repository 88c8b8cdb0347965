"""SearchResults: run dictionaries, TREC files, padding."""

from __future__ import annotations

import numpy as np
import pytest
from lsr.index import SearchResults
from lsr.index.persist import StringList, encode_strings
from lsr.index.results import row_hits

from lsr.errors import InputError


@pytest.fixture
def results():
    return SearchResults(
        query_ids=["q1", "q2"],
        docs=np.array([[2, 0], [1, -1]], dtype=np.int64),
        scores=np.array([[3.5, 1.25], [0.5, 0.0]], dtype=np.float32),
        doc_ids=["a", "b", "c"],
    )


def test_hits_leave_padding_out(results):
    assert results.hits(0) == [("c", 3.5), ("a", 1.25)]
    assert results.hits(1) == [("b", 0.5)]


def test_to_dict(results):
    assert results.to_dict() == {"q1": {"c": 3.5, "a": 1.25}, "q2": {"b": 0.5}}


def test_write_trec(results, tmp_path):
    path = tmp_path / "run.trec"
    results.write_trec(path, tag="exact")
    assert path.read_text().splitlines() == [
        "q1 Q0 c 1 3.5 exact",
        "q1 Q0 a 2 1.25 exact",
        "q2 Q0 b 1 0.5 exact",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["run.trec"]


def test_write_trec_keeps_old_file_on_error(results, tmp_path):
    path = tmp_path / "run.trec"
    path.write_text("old\n")
    broken = SearchResults(results.query_ids, results.docs, results.scores, ["a"])
    with pytest.raises(IndexError):
        broken.write_trec(path)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.trec"]


def test_rejects_mismatched_shapes():
    with pytest.raises(InputError, match="result rows"):
        SearchResults(["q"], np.zeros((2, 1), np.int64), np.zeros((2, 1), np.float32), [])


@pytest.mark.parametrize("stored", [False, True], ids=["list", "string-list"])
@pytest.mark.parametrize(
    ("row", "expected"),
    [([2, 0, 1], ["c", "a", "b"]), ([1, 2, -1], ["b", "c"]), ([-1, -1, -1], [])],
    ids=["full", "padded", "empty"],
)
def test_row_hits_cut_at_the_padding(stored, row, expected):
    doc_ids = ["a", "b", "c"]
    if stored:
        doc_ids = StringList(*encode_strings(doc_ids))
    scores = np.array([3.0, 2.0, 1.0], dtype=np.float32)
    ids, got = row_hits(doc_ids, np.array(row, dtype=np.int64), scores)
    assert ids == expected
    assert got.dtype == np.float32 and got.tolist() == scores[: len(expected)].tolist()
