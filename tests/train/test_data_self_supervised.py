"""Pseudo-queries from a corpus alone (lsr/train/data/self_supervised.py): the extraction rules
by hand and on real Vaswani, Cranfield and SciFact documents, the words-preserved invariant by
hypothesis, and the examples' negatives never the source document."""

from __future__ import annotations

from collections import Counter
from itertools import islice

import numpy as np
import pytest
from conftest import SHARED_DATA, requires_shared
from hypothesis import given, settings
from hypothesis import strategies as st

from lsr.datasets import BeirFolder, Document
from lsr.encoders import Bm25Encoder
from lsr.errors import InputError
from lsr.train.data.self_supervised import (
    pseudo_queries,
    self_supervised_examples,
    sentence_queries,
    sentence_query,
    sentences,
    title_query,
)
from lsr.train.data.teachers import SparseTeacher


def first_docs(name: str, n: int) -> list[Document]:
    return list(islice(BeirFolder(SHARED_DATA / name).docs(), n))


def test_sentences_end_at_punctuation_followed_by_space():
    text = "Flow past a plate. It was measured!  Was it? Values of 3.5 mm were seen."
    assert sentences(text) == [
        "Flow past a plate.",
        "It was measured!",
        "Was it?",
        "Values of 3.5 mm were seen.",
    ]


def test_a_run_of_spaces_is_a_boundary_a_line_break_is_not():
    text = "compact memories have flexible capacities  a digital data storage\nsystem is described"
    assert sentences(text) == [
        "compact memories have flexible capacities",
        "a digital data storage system is described",
    ]


def test_title_rule_keeps_the_text_whole():
    doc = Document(
        "7", "Shear flow past a plate", "We measured the flow past a flat plate at speed."
    )
    pseudo = title_query(doc)
    assert (pseudo.query, pseudo.positive, pseudo.rule) == (
        "Shear flow past a plate",
        "We measured the flow past a flat plate at speed.",
        "title",
    )


def test_title_rule_removes_a_leading_copy_of_the_title():
    doc = Document(
        "1",
        "flow in a\nslipstream .",
        "flow in a slipstream .\n  an experimental study was made of it in wind tunnels",
    )
    assert title_query(doc).positive == "an experimental study was made of it in wind tunnels"


def test_title_rule_refuses_short_titles_and_texts():
    assert (
        title_query(Document("1", "Flow", "A long enough text about the flow past plates.")) is None
    )
    assert title_query(Document("1", "Flow past plates", "Too short.")) is None


def test_sentence_rule_needs_two_sentences():
    doc = Document("1", "", "only one sentence here with many words in it")
    assert sentence_query(doc, np.random.default_rng(0)) is None


def word_counts(*texts: str) -> Counter:
    return Counter(w for t in texts for w in t.split())


@requires_shared
def test_vaswani_pseudo_queries_are_sentences_of_their_document():
    docs = first_docs("vaswani", 60)
    made = pseudo_queries(docs, seed=0)
    by_id = {d.id: d for d in docs}
    assert len(made) >= 30  # 59% of all Vaswani documents give a pair (20% are one sentence)
    for pseudo in made:
        doc = by_id[pseudo.doc_id]
        assert pseudo.rule == "sentence"
        assert pseudo.query in sentences(doc.text)
        assert word_counts(pseudo.query, pseudo.positive) == word_counts(doc.text)


@requires_shared
def test_cranfield_titles_are_queries_and_leave_the_text_without_them():
    docs = first_docs("cranfield", 40)
    made = pseudo_queries(docs)
    by_id = {d.id: d for d in docs}
    assert len(made) >= 30
    for pseudo in made:
        doc = by_id[pseudo.doc_id]
        assert pseudo.rule == "title"
        assert word_counts(pseudo.query, pseudo.positive) == word_counts(doc.text)


@requires_shared
def test_cranfield_gives_its_title_then_distinct_sentences_of_its_text():
    docs = first_docs("cranfield", 40)
    made = pseudo_queries(docs, per_document=3)
    by_id = {d.id: d for d in docs}
    assert [p for p in made if p.rule == "title"] == pseudo_queries(docs)
    for doc_id in {p.doc_id for p in made}:
        mine = [p for p in made if p.doc_id == doc_id]
        assert 1 <= len(mine) <= 3 and len({p.query for p in mine}) == len(mine)
        for pseudo in mine[1:]:
            assert pseudo.rule == "sentence"
            assert pseudo.query in sentences(by_id[doc_id].text)
            assert word_counts(pseudo.query, pseudo.positive) == word_counts(by_id[doc_id].text)
    assert sum(p.rule == "sentence" for p in made) > len(docs)


def earlier_sentence_rule(doc: Document, rng: np.random.Generator) -> str | None:
    """The sentence rule as it was before ``per_document``: one integer drawn per document."""
    parts = sentences(doc.text)
    eligible = [i for i, s in enumerate(parts) if len(s.split()) >= 3]
    if len(parts) < 2 or not eligible:
        return None
    chosen = eligible[int(rng.integers(len(eligible)))]
    rest = parts[:chosen] + parts[chosen + 1 :]
    return parts[chosen] if len(" ".join(rest).split()) >= 8 else None


@requires_shared
def test_one_per_document_draws_the_sentences_of_earlier_runs():
    docs = first_docs("vaswani", 60)
    rng = np.random.default_rng(5)
    earlier = [q for q in (earlier_sentence_rule(doc, rng) for doc in docs) if q is not None]
    assert [p.query for p in pseudo_queries(docs, seed=5)] == earlier


@requires_shared
def test_scifact_titles_are_queries_for_the_whole_text():
    for pseudo, doc in zip(pseudo_queries(first_docs("scifact", 10)), first_docs("scifact", 10)):
        assert (pseudo.query, pseudo.positive) == (doc.title, " ".join(doc.text.split()))


@requires_shared
def test_same_seed_same_sentences():
    docs = first_docs("vaswani", 30)
    assert pseudo_queries(docs, seed=3) == pseudo_queries(docs, seed=3)
    assert pseudo_queries(docs, seed=3) != pseudo_queries(docs, seed=4)


@requires_shared
def test_examples_never_draw_their_source_document_as_a_negative():
    docs = first_docs("cranfield", 50)
    teacher = SparseTeacher(Bm25Encoder.fit(d.full_text for d in docs))
    examples = self_supervised_examples(docs, n_negatives=3, teacher=teacher, max_queries=20)
    source = {" ".join(d.title.split()): d.full_text for d in docs}
    assert len(examples) == 20
    for example in examples:
        assert source[example.query] not in example.negatives
        assert example.positive not in example.negatives
        assert len(set(example.negatives)) == 3
        assert len(example.scores) == 4


def test_a_corpus_without_any_pseudo_query_is_refused():
    docs = [Document("1", "", "too short"), Document("2", "x", "tiny")]
    with pytest.raises(InputError, match=r"^corpus: no document gives a pseudo-query"):
        self_supervised_examples(docs, n_negatives=1)


words = st.sampled_from(["flow", "plate", "wing", "heat", "shock", "wave", "3.5", "mach"])
sentence = st.tuples(
    st.lists(words, min_size=1, max_size=8), st.sampled_from([". ", "! ", "? ", "  "])
)


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(sentence, min_size=1, max_size=6), seed=st.integers(0, 1000))
def test_the_sentence_rule_loses_no_word_and_moves_one_sentence(parts, seed):
    text = "".join(" ".join(ws) + end for ws, end in parts)
    pseudo = sentence_query(Document("d", "", text), np.random.default_rng(seed))
    if pseudo is None:
        return
    assert word_counts(pseudo.query, pseudo.positive) == word_counts(text)
    assert pseudo.query in sentences(text)
    assert len(pseudo.query.split()) >= 3


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(sentence, min_size=1, max_size=6), seed=st.integers(0, 1000))
def test_several_sentences_are_drawn_without_repeats_and_lose_no_word(parts, seed):
    text = "".join(" ".join(ws) + end for ws, end in parts)
    made = sentence_queries(Document("d", "", text), np.random.default_rng(seed), 3)
    assert len(made) <= 3
    assert Counter(p.query for p in made) <= Counter(sentences(text))
    for pseudo in made:
        assert word_counts(pseudo.query, pseudo.positive) == word_counts(text)
