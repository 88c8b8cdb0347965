"""The inference-free encoder: idf-weighted query tokens, SPLADE documents, save/load."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tiny_models import build_tiny_bert

from lsr.encoders import InferenceFreeEncoder, SpladeEncoder, load
from lsr.encoders.idf import idf_weights

CORPUS = ["breast cancer", "cancer risk", "heart"]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    folder = build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))
    return InferenceFreeEncoder.fit(SpladeEncoder.load(folder), CORPUS)


def test_query_is_its_distinct_tokens_weighted_by_idf(encoder):
    query = encoder.encode_queries(["what causes cancer cancer"]).to_dict(0)
    # bm25 idf, N = 3: "cancer" df 2; "what" and "causes" df 0
    assert query == pytest.approx(
        {
            "what": math.log(1 + 3.5 / 0.5),
            "causes": math.log(1 + 3.5 / 0.5),
            "cancer": math.log(1 + 1.5 / 2.5),
        }
    )


def test_special_tokens_are_dropped(encoder):
    query = encoder.encode_queries(["[CLS] heart [SEP]"]).to_dict(0)
    assert list(query) == ["heart"]


def test_empty_query_gives_an_empty_vector(encoder):
    assert encoder.encode_queries([""]).nnz == 0


def test_documents_are_the_splade_vectors(encoder):
    ours = encoder.encode_documents(CORPUS)
    splade = encoder.documents.encode_documents(CORPUS)
    assert np.array_equal(ours.indices, splade.indices)
    assert np.array_equal(ours.values, splade.values)


def test_save_and_load_round_trip(encoder, tmp_path):
    encoder.save(tmp_path / "model")
    again = load(tmp_path / "model")
    assert isinstance(again, InferenceFreeEncoder)
    assert np.allclose(again.idf, encoder.idf)
    assert again.encode_queries(["breast cancer"]).to_dict(0) == pytest.approx(
        encoder.encode_queries(["breast cancer"]).to_dict(0)
    )


def test_log_idf_formula():
    df = np.array([0, 1, 4])
    assert np.allclose(idf_weights(df, 4, "log"), [math.log(4), math.log(4), 0.0])
