"""Queries of another vocabulary than the index's are refused, naming both fingerprints."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner
from index_data import random_collection
from lsr.index import ExactIndex, SeismicIndex
from lsr.index.config import BuildConfig

from lsr.cli import cli
from lsr.errors import InputError
from lsr.vector_io import write_vectors
from lsr.vectors import VectorMetadata

VOCAB = tuple(f"tok{i}" for i in range(200))
SHUFFLED = VOCAB[1:] + VOCAB[:1]  # same size, every term id means another token


def with_vocabulary(collection, vocabulary, model):
    meta = VectorMetadata(len(vocabulary), vocabulary, {"model": model, "encoder": "splade"})
    return replace(collection, metadata=meta)


@pytest.fixture(scope="module")
def docs():
    return with_vocabulary(random_collection(300, seed=3), VOCAB, "model-a")


@pytest.fixture(scope="module")
def saved(docs, tmp_path_factory):
    directory = tmp_path_factory.mktemp("vocab") / "idx"
    SeismicIndex.build(docs, BuildConfig(n_postings=60)).save(directory)
    return directory


def foreign_queries():
    return with_vocabulary(random_collection(4, seed=4, prefix="q"), SHUFFLED, "model-b")


def test_the_manifest_records_the_documents_fingerprint(docs, saved):
    manifest = json.loads((saved / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vocabulary_fingerprint"] == docs.metadata.vocabulary_fingerprint
    loaded = SeismicIndex.load(saved)
    assert loaded.metadata.vocabulary_fingerprint == docs.metadata.vocabulary_fingerprint


@pytest.mark.parametrize("kind", ["seismic", "exact", "seismic-exact"])
def test_search_batch_refuses_queries_of_another_vocabulary(docs, saved, kind):
    loaded = SeismicIndex.load(saved)
    searcher = {"seismic": loaded, "exact": ExactIndex(docs), "seismic-exact": loaded.exact()}
    queries = foreign_queries()
    with pytest.raises(InputError) as error:
        searcher[kind].search_batch(queries, k=5)
    message = str(error.value)
    assert docs.metadata.vocabulary_fingerprint in message
    assert queries.metadata.vocabulary_fingerprint in message
    assert "model-a" in message and "model-b" in message


def test_queries_of_the_same_vocabulary_are_searched(docs, saved):
    queries = with_vocabulary(random_collection(4, seed=4, prefix="q"), VOCAB, "model-a")
    assert len(SeismicIndex.load(saved).search_batch(queries, k=5)) == 4


def test_cli_info_shows_the_fingerprint_and_model(docs, saved):
    result = CliRunner().invoke(cli, ["index", "info", str(saved), "--json"])
    summary = json.loads(result.output)
    assert summary["vocabulary_fingerprint"] == docs.metadata.vocabulary_fingerprint
    assert summary["model"] == "model-a"


def test_cli_search_names_both_fingerprints(docs, saved, tmp_path):
    write_vectors(tmp_path / "q.parquet", foreign_queries())
    args = ["index", "search", str(saved), str(tmp_path / "q.parquet"), "--out", "run.trec"]
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, InputError)
    assert docs.metadata.vocabulary_fingerprint in str(result.exception)
