"""BM25 vectors against a hand-computed example, and the Lucene-like analyzer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsr.encoders import Bm25Encoder, load
from lsr.encoders.analysis import EnglishAnalyzer
from lsr.errors import InputError

# Analysed (porter): d1 = cancer cell grow cancer (dl 4), d2 = cancer risk women (dl 3, "in" is
# a stop word), d3 = heart diseas (dl 2). N = 3, avgdl = 9 / 3 = 3.
CORPUS = ["Cancer cells grow; cancer", "cancer risk in women", "heart disease"]


@pytest.fixture
def bm25():
    return Bm25Encoder.fit(CORPUS)


def weights(collection, encoder, row=0):
    return {encoder.vocabulary[t]: float(w) for t, w in zip(*collection.row(row))}


def test_fit_collects_the_corpus_statistics(bm25):
    assert bm25.vocabulary == ["cancer", "cell", "diseas", "grow", "heart", "risk", "women"]
    assert bm25.df.tolist() == [2, 1, 1, 1, 1, 1, 1]
    assert (bm25.n_docs, bm25.avg_doc_length) == (3, 3.0)


def test_document_weights_are_the_saturated_tf_part(bm25):
    doc = weights(bm25.encode_documents(CORPUS[:1]), bm25)
    # tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl)), k1 = 0.9, b = 0.4, dl = 4, avgdl = 3
    norm = 0.9 * (1 - 0.4 + 0.4 * 4 / 3)
    assert doc["cancer"] == pytest.approx(2 * 1.9 / (2 + norm))
    assert doc["cell"] == pytest.approx(1 * 1.9 / (1 + norm))
    assert set(doc) == {"cancer", "cell", "grow"}


def test_query_weights_are_count_times_lucene_idf(bm25):
    query = weights(bm25.encode_queries(["cancer cancer cells unknownword"]), bm25)
    # idf = log(1 + (N - df + 0.5) / (df + 0.5)); "cancer" appears twice in the query
    assert query["cancer"] == pytest.approx(2 * math.log(1 + 1.5 / 2.5))
    assert query["cell"] == pytest.approx(math.log(1 + 2.5 / 1.5))
    assert set(query) == {"cancer", "cell"}


def test_dot_product_is_the_bm25_score(bm25):
    docs = bm25.encode_documents(CORPUS)
    query = bm25.encode_queries(["heart"])
    q_terms, q_weights = query.row(0)
    terms, values = docs.row(2)
    score = float(values[np.isin(terms, q_terms)] @ q_weights)
    idf = math.log(1 + 2.5 / 1.5)
    assert score == pytest.approx(idf * 1.9 / (1 + 0.9 * (1 - 0.4 + 0.4 * 2 / 3)))


def test_empty_text_gives_an_empty_vector(bm25):
    assert bm25.encode_documents(["", "the of"]).lengths().tolist() == [0, 0]


def test_save_and_load_round_trip(bm25, tmp_path):
    bm25.save(tmp_path / "bm25")
    again = load(tmp_path / "bm25")
    assert isinstance(again, Bm25Encoder)
    first, second = bm25.encode_documents(CORPUS), again.encode_documents(CORPUS)
    assert np.array_equal(first.indices, second.indices)
    assert np.array_equal(first.values, second.values)


def test_bad_parameters_are_input_errors():
    with pytest.raises(InputError, match="b must be"):
        Bm25Encoder.fit(CORPUS, b=1.5)


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        # Anserini's BagOfWordsQueryGenerator tests (Lucene EnglishAnalyzer, Porter stemmer)
        ("sample query", ["sampl", "queri"]),
        ("Mary had a little lamb", ["mari", "had", "littl", "lamb"]),
        ("John's cars", ["john", "car"]),
        ("pi is 3.14, not 1,000", ["pi", "3.14", "1,000"]),
    ],
)
def test_analyzer_follows_lucene_english(text, terms):
    assert EnglishAnalyzer()(text) == terms


def test_unknown_stemmer_is_an_input_error():
    with pytest.raises(InputError, match="unknown stemmer"):
        EnglishAnalyzer("klingon")
