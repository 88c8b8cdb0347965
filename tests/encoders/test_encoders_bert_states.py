"""BertStates (one text through a BERT masked LM in plain torch calls) against the Hugging Face
modules it replaces: the same states bit for bit, on random and on real models; None for models
whose computation it does not repeat."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA, SPLADE_TINY, requires_shared
from hypothesis import given, settings
from hypothesis import strategies as st
from tiny_models import VOCABULARY, build_other_mlm, build_tiny_bert
from transformers import AutoModelForMaskedLM, BertConfig, BertForMaskedLM

from lsr.encoders import SpladeEncoder
from lsr.encoders.bert_states import BertStates
from lsr.encoders.splade import _headless


def module_states(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """What the encoder got from the Hugging Face modules: the headless model's output."""
    with torch.inference_mode():
        return _headless(model)(input_ids=input_ids).logits


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return AutoModelForMaskedLM.from_pretrained(
        build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))
    ).eval()


@settings(max_examples=40, deadline=None)
@given(ids=st.lists(st.integers(0, len(VOCABULARY) - 1), min_size=1, max_size=64))
def test_states_equal_the_modules_bit_for_bit(tiny_bert, ids):
    input_ids = torch.tensor([ids])
    with torch.inference_mode():
        fast = BertStates.of(tiny_bert)(input_ids)
    assert torch.equal(fast, module_states(tiny_bert, input_ids))


@pytest.mark.parametrize(
    "change",
    [{"hidden_act": "relu"}, {"is_decoder": True}, {"position_embedding_type": "relative_key"}],
    ids=["other activation", "decoder", "relative positions"],
)
def test_a_bert_it_does_not_repeat_is_left_to_the_modules(change):
    config = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, **change,
    )  # fmt: skip
    assert BertStates.of(BertForMaskedLM(config)) is None


@pytest.mark.parametrize("kind", ["distilbert", "roberta"])
def test_other_architectures_are_left_to_the_modules(tmp_path, kind):
    model = AutoModelForMaskedLM.from_pretrained(build_other_mlm(tmp_path, kind))
    assert BertStates.of(model) is None


@requires_shared
def test_splade_tiny_queries_take_the_plain_path_and_keep_their_vectors():
    """Every SciFact test query: the same states as the modules, and the same vector from
    ``encode_queries`` with the plain path as without it."""
    from lsr.datasets import load_dataset

    queries = list(load_dataset(SHARED_DATA / "scifact").queries("test").values())
    encoder = SpladeEncoder.load(SPLADE_TINY)
    plain = encoder._one_text
    assert plain is not None
    for query in queries:
        input_ids = torch.tensor(encoder.tokenize([query], encoder.query_max_length))
        with torch.inference_mode():
            assert torch.equal(plain(input_ids), module_states(encoder.model, input_ids)), query
    fast = encoder.encode_queries(queries[:50])
    singles = [encoder.encode_queries([query]) for query in queries[:50]]
    encoder._one_text = None  # the modules only
    for query, single in zip(queries[:50], singles):
        reference = encoder.encode_queries([query])
        np.testing.assert_array_equal(single.indices, reference.indices)
        np.testing.assert_array_equal(single.values, reference.values)
    batch = encoder.encode_queries(queries[:50])  # batches never take the plain path
    np.testing.assert_array_equal(fast.indptr, batch.indptr)
    np.testing.assert_array_equal(fast.values, batch.values)
