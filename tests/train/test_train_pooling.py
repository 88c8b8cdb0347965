"""The memory-saving pooling's forward and backward against the plain formula's autograd."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoModelForMaskedLM, AutoTokenizer

from lsr.encoders.pooling import l0_activation, splade_activation
from lsr.train.models.mlm import MlmEncoder
from lsr.train.models.pooling import _argmax_positions, pooled_logits
from tests.encoders.tiny_models import build_tiny_bert


def plain_weights(states, mask, weight, bias, activation=splade_activation):
    """naver/splade's formula: the full logits, activated, masked, max over positions."""
    logits = states @ weight.T + bias
    return torch.max(activation(logits) * mask.unsqueeze(-1), dim=1).values


def random_batch(seed, batch, length, hidden, vocab):
    generator = torch.Generator().manual_seed(seed)
    states = torch.randn(batch, length, hidden, dtype=torch.float64, generator=generator)
    weight = torch.randn(vocab, hidden, dtype=torch.float64, generator=generator)
    bias = torch.randn(vocab, dtype=torch.float64, generator=generator)
    lengths = torch.randint(1, length + 1, (batch,), generator=generator)
    mask = (torch.arange(length)[None, :] < lengths[:, None]).double()
    return states, mask, weight, bias


def gradients(fn, tensors):
    tensors = [t.clone().requires_grad_() for t in tensors]
    out = fn(*tensors)
    upstream = torch.linspace(-1, 2, out.numel(), dtype=out.dtype).view_as(out)
    (out * upstream).sum().backward()
    return out.detach(), [t.grad for t in tensors]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    batch=st.integers(1, 4),
    length=st.integers(1, 7),
    vocab=st.integers(1, 40),
    chunk=st.integers(1, 16),
    activation=st.sampled_from([splade_activation, l0_activation]),
)
def test_forward_and_backward_equal_the_plain_formula(
    seed, batch, length, vocab, chunk, activation
):
    states, mask, weight, bias = random_batch(seed, batch, length, 5, vocab)

    def fast(s, w, b):
        return activation(pooled_logits(s, mask, w, b, chunk))

    def plain(s, w, b):
        return plain_weights(s, mask, w, b, activation)

    fast_out, fast_grads = gradients(fast, [states, weight, bias])
    plain_out, plain_grads = gradients(plain, [states, weight, bias])
    assert torch.allclose(fast_out, plain_out, atol=1e-12)
    for mine, reference in zip(fast_grads, plain_grads):
        assert torch.allclose(mine, reference, atol=1e-10)


def test_tiny_bert_gradients_equal_the_plain_formula(tmp_path):
    folder = build_tiny_bert(tmp_path / "bert")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    batch = tokenizer(["breast cancer risk in women", "gene"], padding=True, return_tensors="pt")
    grads = []
    for fast in (True, False):
        mlm = AutoModelForMaskedLM.from_pretrained(folder).double()
        encoder = MlmEncoder(mlm, chunk=7)
        if fast:
            weights = encoder(batch["input_ids"], batch["attention_mask"])
        else:
            logits = mlm(**batch).logits
            mask = batch["attention_mask"].double().unsqueeze(-1)
            weights = torch.max(splade_activation(logits) * mask, dim=1).values
        upstream = torch.linspace(0, 1, weights.numel(), dtype=weights.dtype).view_as(weights)
        (weights * upstream).sum().backward()
        grads.append({n: p.grad.clone() for n, p in mlm.named_parameters() if p.grad is not None})
        grads[-1]["weights"] = weights.detach()
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        assert torch.allclose(grads[0][name], grads[1][name], atol=1e-9), name


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    batch=st.integers(1, 4),
    length=st.integers(1, 7),
    chunk=st.integers(1, 40),
)
def test_argmax_positions_are_those_of_the_full_logits(seed, batch, length, chunk):
    states, _, weight, _ = random_batch(seed, batch, length, 5, 30)
    generator = torch.Generator().manual_seed(seed)
    wanted = torch.rand(batch, 30, generator=generator) < 0.3
    positions = _argmax_positions(states, weight, wanted, chunk)
    full = (states @ weight.T).argmax(dim=1)  # (batch, vocabulary)
    assert torch.equal(positions[wanted], full[wanted])
