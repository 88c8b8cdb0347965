"""``lsr encode`` end to end on small JSONL inputs: BM25 fit + save + queries, SPLADE, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from tiny_models import build_tiny_bert

from lsr.cli import cli
from lsr.encoders import load
from lsr.errors import InputError
from lsr.vector_io import read_vectors

DOCS = [
    {"_id": "d1", "title": "Cancer", "text": "cells grow"},
    {"_id": "d2", "title": "", "text": "cancer risk in women"},
    {"_id": "d3", "title": "Heart", "text": ""},
]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    return path


@pytest.fixture
def queries(tmp_path):
    path = tmp_path / "queries.jsonl"
    path.write_text(json.dumps({"_id": "q1", "text": "cancer cells"}) + "\n")
    return path


def run(*args):
    return CliRunner().invoke(cli, ["encode", *map(str, args), "--no-progress"])


def test_bm25_is_fitted_saved_and_reused_for_queries(corpus, queries, tmp_path):
    result = run(
        "--model",
        "bm25",
        "--corpus",
        corpus,
        "--out",
        tmp_path / "d.parquet",
        "--save-model",
        tmp_path / "bm25",
    )
    assert result.exit_code == 0, result.output
    docs = read_vectors(tmp_path / "d.parquet")
    assert docs.ids == ["d1", "d2", "d3"]
    assert "cancer" in docs.to_dict(0)  # the title is encoded with the text
    result = run(
        "--model", tmp_path / "bm25", "--queries", queries, "--out", tmp_path / "q.parquet"
    )
    assert result.exit_code == 0, result.output
    assert set(read_vectors(tmp_path / "q.parquet").to_dict(0)) == {"cancer", "cell"}


def test_splade_corpus_with_max_length(corpus, tmp_path):
    model = build_tiny_bert(tmp_path / "tiny")
    out = tmp_path / "d.parquet"
    result = run("--model", model, "--corpus", corpus, "--out", out, "--max-length", 4)
    assert result.exit_code == 0, result.output
    expected = load(model, document_max_length=4).encode_documents(
        ["Cancer cells grow", "cancer risk in women", "Heart"]
    )
    assert read_vectors(out).nnz == expected.nnz


def test_bm25_queries_without_a_fitted_model_is_an_error(queries, tmp_path):
    result = run("--model", "bm25", "--queries", queries, "--out", tmp_path / "q.parquet")
    assert isinstance(result.exception, InputError)
    assert "--save-model" in str(result.exception)


def test_corpus_and_queries_together_is_an_error(corpus, queries, tmp_path):
    result = run(
        "--model", "bm25", "--corpus", corpus, "--queries", queries, "--out", tmp_path / "x.parquet"
    )
    assert isinstance(result.exception, InputError)


def test_inference_free_idf_is_fitted_on_the_corpus(corpus, queries, tmp_path):
    model = build_tiny_bert(tmp_path / "tiny")
    saved = tmp_path / "inference-free"
    result = run(
        "--model",
        model,
        "--inference-free",
        "--corpus",
        corpus,
        "--out",
        tmp_path / "d.parquet",
        "--save-model",
        saved,
    )
    assert result.exit_code == 0, result.output
    result = run("--model", saved, "--queries", queries, "--out", tmp_path / "q.parquet")
    assert result.exit_code == 0, result.output
    query = read_vectors(tmp_path / "q.parquet")
    assert query.metadata.provenance["encoder"] == "inference-free"
    assert set(query.to_dict(0)) == {"cancer", "cells"}
