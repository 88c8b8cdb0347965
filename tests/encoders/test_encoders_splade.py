"""SpladeEncoder on a tiny random BERT (against plain torch) and on the real splade-tiny."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA, SPLADE_TINY, dense, requires_shared
from tiny_models import build_headless_bert, build_other_mlm, build_tiny_bert
from transformers import AutoModelForMaskedLM, AutoTokenizer

from lsr.encoders import SpladeEncoder, load
from lsr.encoders.transformer import TransformerEncoder
from lsr.errors import InputError, ModelError
from lsr.vectors import SparseCollection

TEXTS = [
    "what causes breast cancer in women",
    "tumor cells increase the risk",
    "a study of heart disease in patients and the effect of treatment on blood",
    "gene",
]


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="module")
def headless_bert_dir(tmp_path_factory):
    return build_headless_bert(tmp_path_factory.mktemp("headless-bert"))


def plain_splade(folder, texts, max_length):
    """naver/splade's encode (agg='max') with the Hugging Face model, logits materialised."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForMaskedLM.from_pretrained(folder).eval()
    tokens = tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    with torch.no_grad():
        logits = model(**tokens).logits
    mask = tokens["attention_mask"].unsqueeze(-1)
    return torch.max(torch.log1p(torch.relu(logits)) * mask, dim=1).values.numpy()


@pytest.mark.parametrize("screen", [False, True])
def test_document_vectors_match_plain_torch(tiny_bert_dir, screen):
    encoder = SpladeEncoder.load(tiny_bert_dir, screen=screen, batch_size=3)
    vectors = encoder.encode_documents(TEXTS)
    expected = plain_splade(tiny_bert_dir, TEXTS, encoder.document_max_length)
    assert np.abs(dense(vectors, encoder.vocab_size) - expected).max() < 1e-5


@pytest.mark.parametrize("kind", ["distilbert", "roberta"])
def test_other_mlm_heads_match_plain_torch_alone_and_in_batches(tmp_path, kind):
    folder = build_other_mlm(tmp_path, kind)
    encoder = SpladeEncoder.load(folder, screen=True, batch_size=3)
    expected = plain_splade(folder, TEXTS, encoder.query_max_length)
    batched = dense(encoder.encode_queries(TEXTS), encoder.vocab_size)
    alone = np.stack([dense(encoder.encode_queries([t]), encoder.vocab_size)[0] for t in TEXTS])
    assert (expected > 0).sum(axis=1).min() > 0
    assert np.abs(batched - expected).max() < 1e-5
    assert np.abs(alone - expected).max() < 1e-5


def test_queries_are_truncated_to_the_query_max_length(tiny_bert_dir):
    encoder = SpladeEncoder.load(tiny_bert_dir, query_max_length=5)
    vectors = encoder.encode_queries(TEXTS[2:3])
    expected = plain_splade(tiny_bert_dir, TEXTS[2:3], 5)
    assert np.abs(dense(vectors, encoder.vocab_size) - expected).max() < 1e-5


def test_a_text_encodes_the_same_alone_and_in_a_padded_batch(tiny_bert_dir):
    encoder = SpladeEncoder.load(tiny_bert_dir)
    together = dense(encoder.encode_documents(TEXTS), encoder.vocab_size)
    for i, text in enumerate(TEXTS):
        alone = dense(encoder.encode_documents([text]), encoder.vocab_size)[0]
        assert np.abs(alone - together[i]).max() < 1e-5


def test_ids_and_order_follow_the_input(tiny_bert_dir):
    encoder = SpladeEncoder.load(tiny_bert_dir, batch_size=2)
    vectors = encoder.encode_documents(TEXTS, ids=["d1", "d2", "d3", "d4"])
    assert vectors.ids == ["d1", "d2", "d3", "d4"]
    assert vectors.metadata.vocabulary[:3] == ("[PAD]", "[UNK]", "[CLS]")


def test_an_empty_text_gives_an_empty_vector(tiny_bert_dir):
    vectors = SpladeEncoder.load(tiny_bert_dir).encode_documents(["", "gene", "   "])
    assert vectors.lengths().tolist()[0] == 0
    assert vectors.lengths().tolist()[2] == 0
    assert vectors.lengths().tolist()[1] > 0


def test_top_k_keeps_the_k_largest_weights(tiny_bert_dir):
    full = SpladeEncoder.load(tiny_bert_dir).encode_documents(TEXTS[:1])
    pruned = SpladeEncoder.load(tiny_bert_dir, top_k=3).encode_documents(TEXTS[:1])
    assert len(pruned.row(0)[0]) == 3
    assert sorted(pruned.row(0)[1]) == sorted(np.sort(full.row(0)[1])[-3:])


def test_non_string_ids_are_an_input_error(tiny_bert_dir):
    with pytest.raises(InputError, match="id at position 1"):
        SpladeEncoder.load(tiny_bert_dir).encode_documents(["a", "b"], ids=["x", 2])


def test_repeated_ids_are_an_input_error(tiny_bert_dir):
    with pytest.raises(InputError, match="id 'x' is given more than once"):
        SpladeEncoder.load(tiny_bert_dir).encode_documents(["a", "b", "c"], ids=["x", "y", "x"])


def test_non_string_texts_are_an_input_error(tiny_bert_dir):
    with pytest.raises(InputError, match="text at position 0"):
        SpladeEncoder.load(tiny_bert_dir).encode_queries([None])


def test_a_missing_folder_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        load(tmp_path / "absent")


def test_a_folder_without_an_mlm_head_is_a_model_error(headless_bert_dir):
    with pytest.raises(ModelError, match="no masked-LM head"):
        load(headless_bert_dir)


def test_save_and_load_round_trip(tiny_bert_dir, tmp_path):
    encoder = SpladeEncoder.load(tiny_bert_dir, document_max_length=12, top_k=5)
    encoder.save(tmp_path / "model")
    again = load(tmp_path / "model")
    assert isinstance(again, SpladeEncoder)
    assert (again.document_max_length, again.top_k) == (12, 5)
    first, second = encoder.encode_documents(TEXTS), again.encode_documents(TEXTS)
    assert np.array_equal(first.indices, second.indices)
    assert np.allclose(first.values, second.values, atol=1e-6)


@requires_shared
def test_splade_tiny_expands_the_reference_query():
    encoder = load(SPLADE_TINY)
    vector = encoder.encode_queries(["what causes breast cancer in women"]).to_dict(0)
    top = sorted(vector, key=vector.get, reverse=True)[:4]
    assert set(top) == {"causes", "breast", "women", "cancer"}
    expected = {"causes": 1.97, "breast": 1.96, "women": 1.86, "cancer": 1.84, "cause": 1.76}
    for token, weight in expected.items():
        assert vector[token] == pytest.approx(weight, abs=0.01)
    assert len(vector) == 11


def test_concurrent_calls_give_the_same_vectors(tiny_bert_dir):
    encoder = SpladeEncoder.load(tiny_bert_dir)
    expected = dense(encoder.encode_documents(TEXTS), encoder.vocab_size)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: encoder.encode_documents(TEXTS), range(8)))
    for result in results:
        assert np.abs(dense(result, encoder.vocab_size) - expected).max() < 1e-6
    assert isinstance(encoder.model.get_output_embeddings(), torch.nn.Linear)


@pytest.fixture(scope="module")
def scifact_queries():
    from lsr.datasets import load_dataset

    dataset = load_dataset(SHARED_DATA / "scifact")
    return list(dataset.queries(dataset.default_split()).values())[:24]


@pytest.fixture(scope="module")
def plain_scifact_queries(scifact_queries):
    return plain_splade(SPLADE_TINY, scifact_queries[:20], 64)


@requires_shared
@pytest.mark.parametrize("screen", [False, True])
def test_single_splade_tiny_queries_match_the_plain_formula(
    scifact_queries, plain_scifact_queries, screen
):
    encoder = SpladeEncoder.load(SPLADE_TINY, screen=screen)
    alone = [encoder.encode_queries([q]) for q in scifact_queries[:20]]
    got = np.stack([dense(vector, encoder.vocab_size)[0] for vector in alone])
    assert np.abs(got - plain_scifact_queries).max() < 1e-5


@requires_shared
@pytest.mark.parametrize("threshold", [0.0, 0.5])
def test_a_single_querys_rows_from_the_screens_candidates_are_the_dense_rows(
    scifact_queries, threshold
):
    encoder = SpladeEncoder.load(SPLADE_TINY, screen=True, threshold=threshold)
    for query in scifact_queries:
        token_ids = encoder.tokenize([query], encoder.query_max_length)
        (got,) = encoder.sparse_rows(token_ids)
        (want,) = TransformerEncoder.sparse_rows(encoder, token_ids)
        assert np.array_equal(got[0], want[0]) and len(got[0]) > 0
        assert got[1].dtype == want[1].dtype and np.array_equal(got[1], want[1])


@requires_shared
def test_encoded_collections_are_what_the_checked_constructor_makes(scifact_queries):
    """The encoder skips SparseCollection's checks: its output must already be canonical."""
    encoder = SpladeEncoder.load(SPLADE_TINY)
    for got in (
        encoder.encode_queries([scifact_queries[0]]),
        encoder.encode_queries(scifact_queries),
    ):
        checked = SparseCollection.from_csr(
            got.ids, got.indptr, got.indices, got.values, got.metadata
        )
        for name in ("indptr", "indices", "values"):
            mine, theirs = getattr(got, name), getattr(checked, name)
            assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)


@requires_shared
def test_eight_threads_encoding_queries_give_the_vectors_of_one(scifact_queries):
    """What a server does: each request thread encodes its own query, documents alongside."""
    encoder = SpladeEncoder.load(SPLADE_TINY)
    expected = [encoder.encode_queries([q]) for q in scifact_queries]

    def encode(i):
        if i % 5 == 0:  # another length setting in flight at the same moment
            encoder.encode_documents(scifact_queries[i : i + 2])
        return encoder.encode_queries([scifact_queries[i]])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(encode, range(len(scifact_queries))))
    for got, want in zip(results, expected):
        assert np.array_equal(got.indices, want.indices)
        assert np.abs(got.values - want.values).max() < 1e-6
