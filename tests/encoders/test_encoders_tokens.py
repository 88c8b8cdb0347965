"""TruncatingTokenizer against the Hugging Face tokenizer call, alone and from many threads."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import SHARED_DATA, SPLADE_TINY, requires_shared
from transformers import AutoTokenizer, BertTokenizerLegacy

from lsr.datasets import load_dataset
from lsr.encoders.tokens import TruncatingTokenizer

TEXTS = [
    "what causes breast cancer in women",
    "A study of heart disease in patients, and the effect of treatment on blood pressure.",
    "gene",
    "Tumour-suppressor genes (TP53, BRCA1) in 12,000 mice: ça change?",
]


def hugging_face_ids(tokenizer, texts, max_length):
    return tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]


@pytest.fixture(scope="module")
def splade_tokenizer():
    return AutoTokenizer.from_pretrained(SPLADE_TINY)


@pytest.fixture(scope="module")
def scifact_texts():
    dataset = load_dataset(SHARED_DATA / "scifact")
    documents = [doc.full_text for doc in itertools.islice(dataset.docs(), 300)]
    return list(dataset.queries(dataset.default_split()).values()), documents


@requires_shared
@pytest.mark.parametrize("max_length", [3, 8, 64, 256])
def test_ids_equal_the_tokenizer_call(splade_tokenizer, max_length):
    ours = TruncatingTokenizer(splade_tokenizer)
    assert ours(TEXTS, max_length) == hugging_face_ids(splade_tokenizer, TEXTS, max_length)


@requires_shared
def test_a_single_text_gives_what_a_batch_gives(splade_tokenizer):
    ours = TruncatingTokenizer(splade_tokenizer, (8,))
    assert [ours([text], 8)[0] for text in TEXTS] == ours(TEXTS, 8)


@requires_shared
def test_scifact_queries_and_documents_tokenize_as_hugging_face(splade_tokenizer, scifact_texts):
    queries, documents = scifact_texts
    ours = TruncatingTokenizer(splade_tokenizer, (64, 256))
    assert ours(queries, 64) == hugging_face_ids(splade_tokenizer, queries, 64)
    assert ours(documents, 256) == hugging_face_ids(splade_tokenizer, documents, 256)


@requires_shared
def test_threads_mixing_maximum_lengths_get_their_own_truncation(splade_tokenizer, scifact_texts):
    """The shared Hugging Face tokenizer resets its truncation per call; ours must not leak it."""
    _, documents = scifact_texts
    ours = TruncatingTokenizer(splade_tokenizer, (64, 256))
    jobs = [(documents[i : i + 1], (64, 256)[i % 2]) for i in range(200)]
    serial = [ours(texts, length) for texts, length in jobs]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda job: ours(*job), jobs))
    assert parallel == serial
    assert all(len(ids[0]) <= length for ids, (_, length) in zip(parallel, jobs))


@requires_shared
def test_a_python_tokenizer_goes_through_the_lock_with_the_same_ids(splade_tokenizer):
    slow = BertTokenizerLegacy(vocab_file=str(SPLADE_TINY / "vocab.txt"))
    assert not slow.is_fast
    ours = TruncatingTokenizer(slow, (8,))
    assert ours(TEXTS, 8) == hugging_face_ids(splade_tokenizer, TEXTS, 8)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: ours(TEXTS, 8), range(16)))
    assert all(result == results[0] for result in results)
