"""Dataset resolution and readers, on the real collections and on small broken folders."""

from __future__ import annotations

import gzip
import json

import pytest
from conftest import SHARED_DATA, requires_shared

from lsr.datasets import BeirFolder, iter_texts, load_dataset, read_qrels, split_spec
from lsr.errors import DatasetError


def make_beir(folder, docs, queries, qrels_rows, split="test", gz=False):
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(d) + "\n" for d in docs)
    if gz:
        with gzip.open(folder / "corpus.jsonl.gz", "wt") as handle:
            handle.write(lines)
    else:
        (folder / "corpus.jsonl").write_text(lines)
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels").mkdir(exist_ok=True)
    rows = "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels_rows)
    (folder / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows)
    return folder


@pytest.fixture
def tiny(tmp_path):
    return make_beir(
        tmp_path / "tiny",
        [{"_id": "d1", "title": "Title", "text": "body"}, {"_id": "d2", "title": "", "text": "x"}],
        [{"_id": "q1", "text": "first"}, {"_id": "q2", "text": "unjudged"}],
        [("q1", "d1", 1), ("q1", "d2", 0)],
        gz=True,
    )


def test_beir_folder_reads_documents_as_title_space_text(tiny):
    dataset = load_dataset(tiny)
    assert [d.full_text for d in dataset.docs()] == ["Title body", "x"]
    assert dataset.doc_count() == 2


def test_split_queries_are_those_with_judgements(tiny):
    dataset = load_dataset(tiny)
    assert dataset.queries() == {"q1": "first", "q2": "unjudged"}
    assert dataset.queries("test") == {"q1": "first"}
    assert dataset.qrels() == {"q1": {"d1": 1, "d2": 0}}
    assert dataset.splits() == ["test"] and dataset.default_split() == "test"


def test_names_resolve_through_the_data_dir(tiny, monkeypatch):
    assert load_dataset("tiny", data_dir=tiny.parent).folder == tiny
    monkeypatch.setenv("LSR_DATA", str(tiny.parent))
    assert load_dataset("tiny").name == "tiny"
    assert split_spec("tiny/test") == ("tiny", "test")
    assert split_spec("tiny") == ("tiny", None)


def test_ir_datasets_ids_stay_whole():
    assert split_spec("beir/scifact/test") == ("beir/scifact/test", None)
    dataset = load_dataset("beir/scifact/test")
    assert dataset.name == "beir/scifact/test" and dataset.ignore_identical_ids


def test_unknown_dataset_says_what_was_tried(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset 'nope': not a folder"):
        load_dataset("nope", data_dir=tmp_path)


def test_missing_split_lists_the_available_ones(tiny):
    with pytest.raises(DatasetError, match=r"no qrels for split 'dev'.*splits here: test"):
        load_dataset(tiny).qrels("dev")


def test_corrupt_corpus_line_is_named(tmp_path):
    folder = make_beir(tmp_path / "bad", [{"_id": "d1", "text": "ok"}], [], [])
    with open(folder / "corpus.jsonl", "a") as handle:
        handle.write('{"_id": "d2", "text": \n')
    with pytest.raises(DatasetError, match=r"corpus\.jsonl, line 2: invalid JSON"):
        list(load_dataset(folder).docs())


def test_missing_id_and_bad_text_are_named(tmp_path):
    folder = make_beir(tmp_path / "bad", [{"text": "no id"}], [], [])
    with pytest.raises(DatasetError, match=r"line 1, field '_id': missing"):
        list(load_dataset(folder).docs())
    folder = make_beir(tmp_path / "bad2", [{"_id": "a", "text": 3}], [], [])
    with pytest.raises(DatasetError, match=r"line 1, field 'text': expected a string, got 3"):
        list(load_dataset(folder).docs())


def test_folder_without_corpus_is_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError, match=r"no corpus\.jsonl or corpus\.jsonl\.gz"):
        BeirFolder(tmp_path)


def test_qrels_accept_trec_format_and_refuse_bad_grades(tmp_path):
    path = tmp_path / "qrels.txt"
    path.write_text("1 0 d1 2\n1 0 d2 0\n")
    assert read_qrels(path) == {"1": {"d1": 2, "d2": 0}}
    path.write_text("query-id\tcorpus-id\tscore\nq\td\thigh\n")
    with pytest.raises(DatasetError, match=r"line 2, field 'score': 'high' is not an integer"):
        read_qrels(path)


def test_declared_identical_id_policy_overrides_the_default(tiny):
    assert load_dataset(tiny).ignore_identical_ids
    (tiny / "lsr-dataset.json").write_text('{"ignore_identical_ids": false}')
    assert not load_dataset(tiny).ignore_identical_ids


def test_iter_texts_reads_jsonl_and_parquet_records(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text('{"id": "a", "text": "alpha", "title": "T"}\n{"_id": 2, "text": "beta"}\n')
    assert list(iter_texts(jsonl)) == [("a", "T alpha"), ("2", "beta")]
    parquet = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": ["a"], "text": ["alpha"]}), parquet)
    assert list(iter_texts(parquet)) == [("a", "alpha")]
    pq.write_table(pa.table({"id": ["a"]}), parquet)
    with pytest.raises(DatasetError, match="expected columns '_id' \\(or 'id'\\) and 'text'"):
        list(iter_texts(parquet))


@requires_shared
@pytest.mark.parametrize(
    ("name", "docs", "test_queries", "ignore_identical"),
    [("scifact", 5183, 300, True), ("vaswani", 11429, 93, False), ("cranfield", 1400, 225, False)],
)
def test_shared_collections_match_their_published_counts(
    name, docs, test_queries, ignore_identical
):
    dataset = load_dataset(name, data_dir=SHARED_DATA)
    assert dataset.doc_count() == docs
    assert len(dataset.queries("test")) == test_queries
    assert dataset.ignore_identical_ids is ignore_identical
