"""Teachers (lsr/train/data/teachers.py) against plain references: sentence-transformers' own
all-MiniLM-L6-v2 embeddings for the dense teacher, numpy dot products and exact search for the
sparse ones, on real SciFact documents."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED, SPLADE_TINY, requires_shared
from data_samples import scifact_sample
from lsr.index import ExactIndex

from lsr.encoders import Bm25Encoder, SpladeEncoder
from lsr.errors import InputError, ModelError
from lsr.train.data.teachers import DenseTeacher, SparseTeacher

MINILM = SHARED / "models" / "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def sample():
    corpus, examples = scifact_sample(n_queries=4, n_other=16)
    queries = list(dict.fromkeys(e.query for e in examples))[:4]
    return corpus, queries


@requires_shared
def test_bm25_teacher_scores_are_the_plain_bm25_dot_products(sample):
    corpus, queries = sample
    encoder = Bm25Encoder.fit(corpus.texts)
    docs = [list(corpus.texts[:10]), list(corpus.texts[5:20]), [], list(corpus.texts[:3])]
    scores = SparseTeacher(encoder).score(queries, docs)
    for query, texts, got in zip(queries, docs, scores):
        q = np.zeros(encoder.vocab_size)
        q[encoder.query_vector(query)[0]] = encoder.query_vector(query)[1]
        expected = []
        for text in texts:
            d = np.zeros(encoder.vocab_size)
            d[encoder.document_vector(text)[0]] = encoder.document_vector(text)[1]
            expected.append(q @ d)
        np.testing.assert_allclose(got, expected, rtol=1e-6)


@requires_shared
def test_splade_teacher_scores_are_the_exact_index_scores(sample):
    corpus, queries = sample
    encoder = SpladeEncoder.load(SPLADE_TINY)
    texts = list(corpus.texts[:12])
    scores = SparseTeacher(encoder).score(queries, [texts] * len(queries))
    index = ExactIndex(encoder.encode_documents(texts, [str(i) for i in range(len(texts))]))
    for query, got in zip(queries, scores):
        ids, values = index.search(*encoder.encode_queries([query]).row(0), k=len(texts))
        expected = np.zeros(len(texts))
        expected[[int(i) for i in ids]] = values
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@requires_shared
def test_remembered_vectors_score_as_encoded_ones(sample):
    corpus, queries = sample
    encoder = Bm25Encoder.fit(corpus.texts)
    texts = list(corpus.texts)
    remembered = SparseTeacher(encoder)
    remembered.remember(texts, encoder.encode_documents(texts))
    assert remembered.score(queries, [texts] * 4)[3].tolist() == pytest.approx(
        SparseTeacher(encoder).score(queries, [texts] * 4)[3].tolist()
    )


@requires_shared
def test_remembering_vectors_of_other_texts_is_refused(sample):
    corpus, _ = sample
    encoder = Bm25Encoder.fit(corpus.texts)
    vectors = encoder.encode_documents(list(corpus.texts[:3]))
    with pytest.raises(InputError, match=r"^vectors: 3 vectors"):
        SparseTeacher(encoder).remember(list(corpus.texts[:4]), vectors)


@requires_shared
def test_dense_teacher_embeds_as_sentence_transformers_does(sample):
    from sentence_transformers import SentenceTransformer

    corpus, queries = sample
    texts = [*queries, *corpus.texts[:8]]  # lengths from a few tokens to truncation at 256
    ours = DenseTeacher.load(MINILM, bf16=False).embed(texts)
    peer = SentenceTransformer(str(MINILM), device="cpu").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, peer, atol=2e-5)


@requires_shared
def test_dense_teacher_scores_are_cosines_of_its_embeddings(sample):
    corpus, queries = sample
    teacher = DenseTeacher.load(MINILM, bf16=False)
    texts = list(corpus.texts[:6])
    [scores] = teacher.score(queries[:1], [texts])
    embeddings = teacher.embed([queries[0], *texts])
    np.testing.assert_allclose(scores, embeddings[1:] @ embeddings[0], atol=1e-6)


@requires_shared
def test_dense_teacher_under_bf16_autocast_stays_close(sample):
    corpus, queries = sample
    texts = list(corpus.texts[:6])
    exact = DenseTeacher.load(MINILM, bf16=False).score(queries[:2], [texts, texts])
    fast = DenseTeacher.load(MINILM, bf16=True).score(queries[:2], [texts, texts])
    np.testing.assert_allclose(fast, exact, atol=5e-3)


def test_a_document_list_per_query_is_required():
    encoder = Bm25Encoder.fit(["red fox", "blue fox"])
    with pytest.raises(InputError, match=r"^2 queries but 1 document lists"):
        SparseTeacher(encoder).score(["fox", "red"], [["red fox"]])


def test_a_missing_dense_model_folder_is_named(tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        DenseTeacher.load(tmp_path / "nothing-here")
