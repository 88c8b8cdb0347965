"""The docstore: every document comes back by id, by itself, as written."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lsr.cli import cli
from lsr.datasets import Document
from lsr.docstore import ROW_GROUP_ROWS, Docstore, add_documents, docstore_path, write_docstore
from lsr.errors import DatasetError
from lsr.vector_io import write_vectors
from lsr.vectors import SparseCollection, VectorMetadata

texts = st.text(max_size=40)
ids = st.text(min_size=1, max_size=12).filter(lambda s: not s.endswith("\x00"))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(ids, texts, texts), max_size=3 * ROW_GROUP_ROWS + 5, unique_by=lambda t: t[0]
    )
)
def test_every_document_comes_back_by_id(tmp_path_factory, records):
    folder = tmp_path_factory.mktemp("index")
    documents = [Document(*record) for record in records]
    assert write_docstore(folder, documents) == len(documents)
    store = Docstore.open(folder)
    assert len(store) == len(documents)
    assert store.get_many([d.id for d in documents]) == documents
    # Ids it does not hold, including one longer than any it holds.
    assert store.get_many(["\x01absent", "x" * 40]) == [None, None]


@settings(max_examples=30, deadline=None)
@given(
    st.dictionaries(ids, st.tuples(texts, texts), max_size=2 * ROW_GROUP_ROWS + 3),
    st.dictionaries(ids, st.tuples(texts, texts), max_size=ROW_GROUP_ROWS + 3),
)
def test_added_documents_replace_those_of_their_id_and_keep_the_others(
    tmp_path_factory, first, added
):
    folder = tmp_path_factory.mktemp("index")
    write_docstore(folder, [Document(i, *t) for i, t in first.items()])
    expected = first | added  # the plain model: a dictionary by id
    assert add_documents(folder, [Document(i, *t) for i, t in added.items()]) == len(expected)
    store = Docstore.open(folder)
    assert store.get_many(list(expected)) == [Document(i, *t) for i, t in expected.items()]


def test_add_documents_writes_a_missing_docstore(tmp_path):
    assert add_documents(tmp_path, [Document("a", "", "text")]) == 1
    assert Docstore.open(tmp_path).get("a") == Document("a", "", "text")


def test_a_repeated_id_is_refused_by_name(tmp_path):
    documents = [Document("a", "", "one"), Document("b", "", "two"), Document("a", "", "three")]
    with pytest.raises(DatasetError, match="'a' appears more than once"):
        write_docstore(tmp_path, documents)
    assert not docstore_path(tmp_path).exists()


def test_an_index_without_docstore_has_none(tmp_path):
    assert Docstore.open(tmp_path) is None


def test_index_build_docs_writes_the_docstore(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    records = [{"_id": f"d{i}", "title": f"title {i}", "text": f"text {i}"} for i in range(5)]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    vectors = SparseCollection.from_rows(
        [f"d{i}" for i in range(4)], [([i], [1.0]) for i in range(4)], VectorMetadata(10)
    )
    write_vectors(tmp_path / "docs.parquet", vectors)
    index_dir = tmp_path / "index"
    args = ["index", "build", str(tmp_path / "docs.parquet"), str(index_dir), "--docs", str(corpus)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "5 documents; 4 of 4 indexed documents have text" in result.output
    assert Docstore.open(index_dir).get("d3") == Document("d3", "title 3", "text 3")


def test_index_docstore_adds_one_to_a_built_index(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"_id": "d0", "title": "t", "text": "x"}) + "\n", encoding="utf-8")
    vectors = SparseCollection.from_rows(
        ["d0", "d1"], [([1], [1.0]), ([2], [1.0])], VectorMetadata(5)
    )
    write_vectors(tmp_path / "docs.parquet", vectors)
    index_dir = tmp_path / "index"
    runner = CliRunner()
    assert (
        runner.invoke(
            cli, ["index", "build", str(tmp_path / "docs.parquet"), str(index_dir)]
        ).exit_code
        == 0
    )
    result = runner.invoke(cli, ["index", "docstore", str(index_dir), str(corpus)])
    assert result.exit_code == 0, result.output
    assert "1 of 2 indexed documents have text" in result.output
    assert Docstore.open(index_dir).get("d0") == Document("d0", "t", "x")
