"""lsr.ray_corpus: Ray Data reads a corpus (JSONL, Parquet, a BEIR folder) as lsr reads it."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED_DATA, requires_shared

from lsr.datasets import iter_documents, iter_texts
from lsr.errors import DatasetError
from lsr.ray_corpus import corpus_file, read_corpus

pytestmark = [pytest.mark.ray, requires_shared]


@pytest.fixture(scope="module")
def documents():
    """The first 300 SciFact documents, with an id of leading zeros and an empty title added."""
    docs = [doc for doc, _ in zip(iter_documents(SHARED_DATA / "scifact"), range(300))]
    extra = {"_id": "000417", "title": None, "text": "  leading zeros stay  "}
    return [{"_id": d.id, "title": d.title, "text": d.text} for d in docs] + [extra]


def _jsonl(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def _parquet(path, records):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records), path, row_group_size=64)
    return path


@pytest.mark.parametrize("write", [_jsonl, _parquet], ids=["jsonl", "parquet"])
def test_a_file_reads_as_lsr_reads_it(ray_runtime, documents, tmp_path, write):
    path = write(tmp_path / f"corpus.{'jsonl' if write is _jsonl else 'parquet'}", documents)
    assert list(read_corpus(corpus_file(path, None))) == list(iter_texts(path))


def test_a_beir_folder_reads_its_gzipped_corpus_as_lsr_reads_it(ray_runtime):
    folder = SHARED_DATA / "cranfield"
    assert corpus_file(folder, None).name == "corpus.jsonl.gz"
    assert list(read_corpus(corpus_file(folder, None))) == list(iter_texts(folder))


def test_a_record_without_an_id_is_named(ray_runtime, tmp_path):
    path = _jsonl(tmp_path / "corpus.jsonl", [{"_id": "a", "text": "x"}, {"text": "y"}])
    with pytest.raises(
        DatasetError, match=r"corpus\.jsonl, record 2, field '_id': missing or not a string"
    ):
        list(read_corpus(path))


def test_a_file_that_is_not_json_lines_is_named(ray_runtime, tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "a", "text": "x"}\n{"_id": "b", "text": \n')
    with pytest.raises(DatasetError, match=r"corpus\.jsonl: Ray Data could not read it"):
        list(read_corpus(path))
