"""The token pooling of the MLP and binary encoders against a plain loop; the MLP encoder's
vectors against hand-computed uniCOIL weights on a tiny random BERT; its folder round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tiny_models import VOCABULARY, build_tiny_bert
from transformers import AutoModel, AutoTokenizer

from lsr.encoders import MlpEncoder, load
from lsr.encoders.term_weights import TERM_WEIGHTS_FILE, TermWeighting, pool_by_token
from lsr.errors import ModelError

TEXTS = ["what causes breast cancer in women", "tumor cells cells increase", "gene"]


def loop_pooling(weights, ids, countable, vocab):
    """w_j = max of the weights of the countable positions holding token j, else 0."""
    out = np.zeros((len(ids), vocab))
    for b in range(len(ids)):
        for i, token in enumerate(ids[b]):
            if countable[b][i]:
                out[b, token] = max(out[b, token], weights[b][i])
    return out


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    batch=st.integers(1, 4),
    length=st.integers(1, 9),
    vocab=st.integers(1, 6),
)
def test_pool_by_token_equals_a_plain_loop(seed, batch, length, vocab):
    generator = torch.Generator().manual_seed(seed)
    weights = torch.relu(torch.randn(batch, length, generator=generator, dtype=torch.float64))
    ids = torch.randint(0, vocab, (batch, length), generator=generator)  # few ids: repeats
    countable = torch.rand(batch, length, generator=generator) > 0.3
    got = pool_by_token(weights, ids, countable, vocab).numpy()
    expected = loop_pooling(weights.numpy(), ids.numpy(), countable.numpy(), vocab)
    np.testing.assert_array_equal(got, expected)


def test_pool_by_token_sends_the_gradient_to_the_larger_repeat_only():
    weights = torch.tensor([[0.5, 2.0, 1.0]], requires_grad=True)
    ids = torch.tensor([[1, 1, 0]])
    pooled = pool_by_token(weights, ids, torch.ones(1, 3, dtype=torch.bool), 2)
    pooled.sum().backward()
    assert pooled.tolist() == [[1.0, 2.0]]
    assert weights.grad.tolist() == [[0.0, 1.0, 1.0]]


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="module")
def head():
    torch.manual_seed(3)
    head = TermWeighting(16)
    with torch.no_grad():
        head.linear.weight.normal_(0, 1.0)
        head.linear.bias.fill_(0.2)
    return head


def hand_weights(folder, head, text):
    """uniCOIL by hand: relu(<h_i, w> + b) per non-special token, the max per token id."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    ids = tokenizer(text)["input_ids"]
    with torch.no_grad():
        states = model(input_ids=torch.tensor([ids])).last_hidden_state[0]
    w, b = head.linear.weight[0].detach(), float(head.linear.bias.detach())
    out = {}
    for i, token in enumerate(ids):
        if token in tokenizer.all_special_ids:
            continue
        out[token] = max(out.get(token, 0.0), max(0.0, float(states[i] @ w) + b))
    return {token: weight for token, weight in out.items() if weight > 0}


def test_mlp_encoder_gives_the_hand_computed_weights(tiny_bert_dir, head):
    model = AutoModel.from_pretrained(tiny_bert_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    encoder = MlpEncoder(model, tokenizer, head)
    vectors = encoder.encode_documents(TEXTS)
    assert vectors.nnz > 0
    for row, text in enumerate(TEXTS):
        terms, weights = vectors.row(row)
        expected = hand_weights(tiny_bert_dir, head, text)
        assert sorted(expected) == terms.tolist()
        np.testing.assert_allclose(weights, [expected[t] for t in terms], rtol=1e-5)
    assert encoder.vocab_size == len(VOCABULARY)


def test_a_saved_mlp_encoder_loads_as_itself(tiny_bert_dir, head, tmp_path):
    model = AutoModel.from_pretrained(tiny_bert_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    original = MlpEncoder(model, tokenizer, head, top_k=3)
    original.save(tmp_path / "mlp")
    loaded = load(tmp_path / "mlp")
    assert isinstance(loaded, MlpEncoder) and loaded.top_k == 3
    a, b = original.encode_queries(TEXTS), loaded.encode_queries(TEXTS)
    for row in range(len(TEXTS)):
        np.testing.assert_array_equal(a.row(row)[0], b.row(row)[0])
        np.testing.assert_allclose(a.row(row)[1], b.row(row)[1], rtol=1e-6)


def test_an_mlp_folder_without_its_head_is_a_model_error(tiny_bert_dir, head, tmp_path):
    model = AutoModel.from_pretrained(tiny_bert_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    MlpEncoder(model, tokenizer, head).save(tmp_path / "mlp")
    (tmp_path / "mlp" / TERM_WEIGHTS_FILE).unlink()
    with pytest.raises(ModelError, match=f"{TERM_WEIGHTS_FILE}: missing"):
        load(tmp_path / "mlp")
