"""Hard-negative mining (lsr/train/data/negatives.py) on real SciFact documents, against a plain
numpy BM25 ranking and against the one rule that matters: a negative is never a positive."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SPLADE_TINY, requires_shared
from data_samples import scifact_sample
from hypothesis import given, settings
from hypothesis import strategies as st

from lsr.encoders import Bm25Encoder, SpladeEncoder
from lsr.errors import InputError
from lsr.train.data.corpus import Corpus
from lsr.train.data.negatives import NegativeMiner, NegativeRefresher, add_hard_negatives
from lsr.train.examples import TrainingExample


@pytest.fixture(scope="module")
def sample() -> tuple[Corpus, list[TrainingExample]]:
    corpus, examples = scifact_sample()
    # A positive's text again under another id: a duplicate of a positive is a positive too.
    duplicate = examples[0].positive
    return Corpus.of((*corpus.ids, "copy-of-positive"), (*corpus.texts, duplicate)), examples


@pytest.fixture(scope="module")
def miner(sample) -> NegativeMiner:
    return NegativeMiner.bm25(sample[0], depth=10)


def positives_by_query(examples: list[TrainingExample]) -> dict[str, set[str]]:
    positives: dict[str, set[str]] = {}
    for example in examples:
        positives.setdefault(example.query, set()).add(example.positive)
    return positives


@requires_shared
def test_mined_negatives_never_contain_a_positive_of_their_query(sample, miner):
    _, examples = sample
    assert any(len(p) > 1 for p in positives_by_query(examples).values())
    mined = add_hard_negatives(examples, miner, n=5, seed=1)
    positives = positives_by_query(examples)
    for example in mined:
        assert not positives[example.query] & set(example.negatives)


@requires_shared
def test_every_example_gets_n_distinct_negatives_and_no_scores(sample, miner):
    mined = add_hard_negatives(sample[1], miner, n=5, seed=1)
    assert [len(set(e.negatives)) for e in mined] == [5] * len(sample[1])
    assert all(e.scores is None for e in mined)
    assert [(e.query, e.positive) for e in mined] == [(e.query, e.positive) for e in sample[1]]


def plain_bm25_top(corpus: Corpus, encoder: Bm25Encoder, query: str, depth: int) -> set[str]:
    """Texts scoring at least the depth-th best score, by a dense numpy dot product."""
    matrix = np.zeros((len(corpus), encoder.vocab_size))
    for row, text in enumerate(corpus.texts):
        terms, weights = encoder.document_vector(text)
        matrix[row, terms] = weights
    vector = np.zeros(encoder.vocab_size)
    terms, weights = encoder.query_vector(query)
    vector[terms] = weights
    scores = matrix @ vector
    cutoff = np.sort(scores)[::-1][depth - 1]
    return {corpus.texts[i] for i in np.flatnonzero((scores >= cutoff - 1e-4) & (scores > 0))}


@requires_shared
def test_negatives_are_drawn_from_the_bm25_top_depth(sample, miner):
    corpus, examples = sample
    mined = add_hard_negatives(examples, miner, n=3, seed=2)
    for example in mined:
        top = plain_bm25_top(corpus, miner.encoder, example.query, miner.depth)
        assert set(example.negatives) <= top, example.query


@requires_shared
def test_same_seed_same_negatives_other_seed_other_negatives(sample, miner):
    first = add_hard_negatives(sample[1], miner, n=3, seed=7)
    assert add_hard_negatives(sample[1], miner, n=3, seed=7) == first
    assert add_hard_negatives(sample[1], miner, n=3, seed=8) != first


@requires_shared
def test_a_query_matching_nothing_is_topped_up_with_random_documents(sample, miner):
    example = TrainingExample("qqqzzzxxy", sample[1][0].positive)
    [mined] = add_hard_negatives([example], miner, n=4, seed=0)
    assert len(set(mined.negatives)) == 4
    assert example.positive not in mined.negatives


@requires_shared
def test_given_negatives_stay_first_and_are_not_drawn_again(sample, miner):
    given_negative = sample[0].texts[-2]
    example = TrainingExample(sample[1][0].query, sample[1][0].positive, (given_negative,))
    [mined] = add_hard_negatives([example], miner, n=3, seed=0)
    assert mined.negatives[0] == given_negative
    assert len(set(mined.negatives)) == 4


@pytest.mark.slow
@requires_shared
def test_refresher_mines_with_the_current_splade_model(sample):
    corpus, examples = sample
    refresh = NegativeRefresher(examples[:4], corpus, n=2, depth=8, seed=3)
    encoder = SpladeEncoder.load(SPLADE_TINY)
    mined = refresh(encoder, step=100)
    positives = positives_by_query(examples)
    assert [len(e.negatives) for e in mined] == [2] * 4
    assert all(not positives[e.query] & set(e.negatives) for e in mined)
    assert refresh(encoder, step=100) == mined


@requires_shared
def test_refresher_passes_the_mined_examples_to_its_scorer(sample):
    corpus, examples = sample

    def constant_scores(batch):
        return [TrainingExample(e.query, e.positive, e.negatives, (1.0, 0.0)) for e in batch]

    refresh = NegativeRefresher(examples[:2], corpus, n=1, scorer=constant_scores)
    mined = refresh(Bm25Encoder.fit(corpus.texts), step=0)
    assert [e.scores for e in mined] == [(1.0, 0.0)] * 2


@pytest.mark.parametrize(("field", "value"), [("n", 0), ("n", -1), ("depth", 0)])
def test_bad_counts_are_refused_naming_the_parameter(field, value):
    corpus = Corpus.of(["a", "b"], ["red fox", "blue fox"])
    example = TrainingExample("fox", "red fox")
    with pytest.raises(InputError, match=rf"^{field} must be a positive integer"):
        miner = NegativeMiner.bm25(corpus, **({"depth": value} if field == "depth" else {}))
        add_hard_negatives([example], miner, **({"n": value} if field == "n" else {"n": 1}))


def test_more_negatives_than_the_corpus_holds_is_refused():
    corpus = Corpus.of(["a", "b", "c"], ["red fox", "blue fox", "red fox"])
    miner = NegativeMiner.bm25(corpus)
    with pytest.raises(InputError, match=r"^n: cannot draw 2 negatives.*only 1 distinct"):
        add_hard_negatives([TrainingExample("fox", "red fox")], miner, n=2)


WORDS = ["fox", "dog", "cat", "owl", "bee", "ant", "elk", "yak"]
texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)


@settings(max_examples=40, deadline=None)
@given(
    docs=st.lists(texts, min_size=4, max_size=20),
    queries=st.lists(st.tuples(texts, st.sets(st.integers(0, 19), min_size=1, max_size=3))),
    n=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_no_positive_is_ever_a_negative(docs, queries, n, seed):
    corpus = Corpus.of([str(i) for i in range(len(docs))], docs)
    examples = [
        TrainingExample(query, docs[p % len(docs)]) for query, chosen in queries for p in chosen
    ]
    positives = positives_by_query(examples)
    if any(len(set(docs) - p) < n for p in positives.values()):
        return  # too few documents besides the positives: refused, tested above
    mined = add_hard_negatives(examples, NegativeMiner.bm25(corpus, depth=5), n, seed)
    for example in mined:
        assert not positives[example.query] & set(example.negatives)
        assert len(set(example.negatives)) == n
