"""Causal-LM backbones (Mistral-SPLADE): the echo input against a hand computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import dense
from tiny_models import build_tiny_decoder
from transformers import AutoModelForCausalLM, AutoTokenizer

from lsr.encoders import SpladeEncoder, load
from lsr.encoders.echo import echo_inputs, second_copy
from lsr.train.models.mlm import MlmEncoder

TEXTS = ["what causes breast cancer in women", "gene", "tumor cells increase the risk"]


def test_echo_inputs_repeat_each_text_after_itself():
    ids = torch.tensor([[5, 6, 7], [8, 9, 0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    echoed, echoed_mask = echo_inputs(ids, mask)
    assert echoed_mask.tolist() == [[1] * 6, [1, 1, 1, 1, 0, 0]]
    assert echoed[0].tolist() == [5, 6, 7, 5, 6, 7]
    assert echoed[1, :4].tolist() == [8, 9, 8, 9]


def test_second_copy_picks_the_positions_of_the_repeat():
    states = torch.arange(12.0).view(2, 6, 1)  # position p of row b holds 6b + p
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    copy = second_copy(states, mask)
    assert copy[0, :, 0].tolist() == [3.0, 4.0, 5.0]
    assert copy[1, :2, 0].tolist() == [8.0, 9.0]  # row 1: n = 2, positions 2 and 3


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def decoder_dir(request, tmp_path_factory):
    return build_tiny_decoder(tmp_path_factory.mktemp(request.param), request.param)


def hand_weights(folder, text):
    """The full causal LM on the text twice; log(1 + relu(logits)), max over the second copy."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    ids = tokenizer(text)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids + ids])).logits[0]
    return torch.log1p(torch.relu(logits[len(ids) :])).max(dim=0).values.numpy()


def test_a_causal_lm_folder_encodes_with_echo_pooling(decoder_dir):
    encoder = load(decoder_dir)
    assert isinstance(encoder, SpladeEncoder) and encoder.echo
    got = dense(encoder.encode_documents(TEXTS), encoder.vocab_size)
    expected = np.stack([hand_weights(decoder_dir, text) for text in TEXTS])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_the_training_forward_pools_the_second_copy_of_a_padded_batch(decoder_dir):
    model = AutoModelForCausalLM.from_pretrained(decoder_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(decoder_dir)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        got = MlmEncoder(model, echo=True)(batch["input_ids"], batch["attention_mask"])
    expected = np.stack([hand_weights(decoder_dir, text) for text in TEXTS])
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)
