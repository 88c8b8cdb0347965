"""The fast SPLADE pooling against the plain formula, on random states and projections."""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lsr.encoders.pooling import (
    BLOCK_ELEMENTS,
    DEFAULT_CHUNK,
    Projection,
    _candidate_columns,
    chunk_for,
    max_logits,
    prune,
    screen_bounds,
    splade_activation,
)


def reference_weights(states, mask, layer):
    """naver/splade: max over positions of log(1 + ReLU(logits)) * mask, logits materialised."""
    logits = layer(states)
    return torch.max(torch.log1p(torch.relu(logits)) * mask.unsqueeze(-1), dim=1).values


@pytest.fixture
def batch():
    generator = torch.Generator().manual_seed(1)
    states = torch.randn(5, 9, 16, generator=generator)
    lengths = [9, 7, 3, 1, 5]
    mask = torch.zeros(5, 9, dtype=torch.long)
    for row, length in enumerate(lengths):
        mask[row, :length] = 1
    layer = torch.nn.Linear(16, 300)
    with torch.no_grad():
        layer.bias.normal_(0.0, 1.0, generator=generator)
    return states, mask, layer


@pytest.mark.parametrize("chunk", [7, 64, 1000])
def test_chunked_pooling_matches_the_formula(batch, chunk):
    states, mask, layer = batch
    fast = splade_activation(max_logits(states, mask, Projection.of(layer), chunk=chunk))
    with torch.no_grad():
        expected = reference_weights(states, mask, layer)
    assert torch.allclose(fast, expected, atol=1e-5)


def test_padding_states_do_not_leak_into_the_max(batch):
    states, mask, layer = batch
    poisoned = torch.where(mask.bool().unsqueeze(-1), states, torch.full_like(states, 50.0))
    projection = Projection.of(layer)
    assert torch.equal(max_logits(poisoned, mask, projection), max_logits(states, mask, projection))


def test_int8_screen_gives_the_float32_weights(batch):
    states, mask, layer = batch
    projection = Projection.of(layer)
    exact = splade_activation(max_logits(states, mask, projection, screen=False))
    screened = splade_activation(max_logits(states, mask, projection, screen=True))
    assert torch.allclose(screened, exact, atol=1e-5)
    assert torch.equal(screened > 0, exact > 0)


def test_prune_keeps_the_top_k_above_the_threshold():
    weights = torch.tensor([[0.1, 0.9, 0.5, 0.3], [0.0, 0.2, 0.05, 0.0]])
    pruned = prune(weights, top_k=2, threshold=0.1)
    assert torch.equal(pruned, torch.tensor([[0.0, 0.9, 0.5, 0.0], [0.0, 0.2, 0.0, 0.0]]))


def test_screen_with_no_positive_logit_gives_zeros(batch):
    states, mask, layer = batch
    with torch.no_grad():
        layer.bias.fill_(-1e4)
    projection = Projection.of(layer)
    assert torch.equal(
        splade_activation(max_logits(states, mask, projection, screen=True)), torch.zeros(5, 300)
    )


@settings(max_examples=50, deadline=None)
@given(
    texts=st.integers(1, 4),
    length=st.integers(1, 10),
    hidden=st.integers(1, 40),
    vocab=st.integers(1, 120),
    outlier=st.floats(1.0, 1e3),
    seed=st.integers(0, 2**16),
)
# Found by a CI run: text 0's large logits set the biases; the other texts' small logits then
# round by the bias's last bit, which a margin in |t_i| |e_j| alone did not cover.
@example(texts=4, length=1, hidden=1, vocab=2, outlier=1.0, seed=45)
def test_screen_bounds_every_float32_max_logit(texts, length, hidden, vocab, outlier, seed):
    """The int8 screen's bound is at least the float32 max logit of every term, with an outlier
    dimension in the states (as BERT's have) and biases that put the max logits at about 0,
    where a bound too tight by a rounding error would drop a positive weight."""
    generator = torch.Generator().manual_seed(seed)
    states = torch.randn(texts, length, hidden, generator=generator)
    states[..., 0] *= outlier
    layer = torch.nn.Linear(hidden, vocab)
    with torch.no_grad():
        layer.weight.normal_(0.0, 1.0, generator=generator)
        logits = torch.nn.functional.linear(states, layer.weight).amax(dim=1)
        layer.bias.copy_(-logits[0] + 1e-6 * torch.randn(vocab, generator=generator))
        exact = layer(states).amax(dim=1)
    bound = screen_bounds(states, Projection.of(layer), chunk=7)
    assert bool((bound >= exact).all())


def test_candidate_columns_pad_short_rows_with_a_column_of_their_own():
    candidates = torch.tensor([[False, True, False, True], [False, False, True, False]])
    assert _candidate_columns(candidates).tolist() == [[1, 3], [2, 2]]


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=6),
    vocab=st.integers(1, 200),
    chunk=st.integers(1, 64),
    screen=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_pooling_matches_the_formula_for_any_shape(lengths, vocab, chunk, screen, seed):
    generator = torch.Generator().manual_seed(seed)
    states = torch.randn(len(lengths), max(lengths), 8, generator=generator)
    mask = (torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]).long()
    layer = torch.nn.Linear(8, vocab)
    with torch.no_grad():
        layer.weight.normal_(0.0, 1.0, generator=generator)
        layer.bias.normal_(0.0, 2.0, generator=generator)
        expected = reference_weights(states, mask, layer)
    fast = splade_activation(max_logits(states, mask, Projection.of(layer), chunk, screen))
    assert torch.allclose(fast, expected, atol=1e-5)


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(st.lists(st.booleans(), min_size=5, max_size=5), min_size=1, max_size=6),
)
def test_candidate_columns_hold_each_rows_true_columns_in_order(rows):
    columns = _candidate_columns(torch.tensor(rows)).tolist()
    width = max(sum(row) for row in rows)
    for row, got in zip(rows, columns):
        true = [j for j, flag in enumerate(row) if flag]
        assert len(got) == width
        assert got == true + [true[0] if true else 0] * (width - len(true))


def test_chunk_for_widens_blocks_of_few_tokens_within_the_document_budget():
    assert chunk_for(32 * 256) == DEFAULT_CHUNK
    assert chunk_for(1_000_000) == DEFAULT_CHUNK
    assert chunk_for(21) * 21 <= BLOCK_ELEMENTS < (chunk_for(21) + 1) * 21
    assert chunk_for(21) > 30522  # a single query: one block for the whole vocabulary
