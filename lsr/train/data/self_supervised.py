"""Training examples from a corpus alone: pseudo-queries cut from the documents themselves.

What a user with only a corpus has: no queries, no judgements. Two rules make a (query, positive)
pair of a document, both taking the query *out* of the positive so that it cannot be matched by
copying it:

- a document with a title: the title is the query and the text the positive (a text that repeats
  its title at its start, as Cranfield's do, has that copy removed);
- a document without one: a sentence drawn (seeded) is the query and the rest of the document the
  positive: the Inverse Cloze Task of Lee, Chang, Toutanova, "Latent Retrieval for Weakly
  Supervised Open Domain Question Answering" (ACL 2019), section 4, which always removes the
  sentence here (ICT keeps it in 10% of the pairs; a lexical model would learn to copy it).

Sentences end at ``.``, ``!`` or ``?`` followed by white space, or where a run of two or more
spaces marks a boundary whose punctuation was stripped (Vaswani's abstracts). A query needs
``MIN_QUERY_WORDS`` words and a positive ``MIN_POSITIVE_WORDS``; a document without a pair under
either rule is skipped. Negatives are mined with BM25 over the corpus (never the source
document), and a teacher (the ensemble of :mod:`lsr.train.data.ensemble`) scores them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from lsr.datasets import Document
from lsr.errors import InputError
from lsr.train.data.corpus import Corpus
from lsr.train.data.ensemble import score_examples
from lsr.train.data.negatives import DEPTH, NegativeMiner, add_hard_negatives
from lsr.train.data.teachers import Teacher
from lsr.train.examples import TrainingExample

MIN_QUERY_WORDS = 3
MIN_POSITIVE_WORDS = 8
SENTENCE_BOUNDARY = re.compile(r"(?<=[.!?])\s+|[ \t]{2,}")


@dataclass(frozen=True)
class PseudoQuery:
    """A query cut from document ``doc_id``, the rest of it as the positive, and the rule used."""

    doc_id: str
    query: str
    positive: str
    rule: Literal["title", "sentence"]


def _words(text: str) -> int:
    return len(text.split())


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, white space inside each collapsed to single spaces."""
    return [s for s in (_squeeze(part) for part in SENTENCE_BOUNDARY.split(text)) if s]


def title_query(doc: Document) -> PseudoQuery | None:
    """The title as the query, the text (without a leading copy of the title) as the positive."""
    title, text = _squeeze(doc.title), _squeeze(doc.text)
    if text.startswith(title):
        text = text[len(title) :].strip()
    if _words(title) < MIN_QUERY_WORDS or _words(text) < MIN_POSITIVE_WORDS:
        return None
    return PseudoQuery(doc.id, title, text, "title")


def sentence_query(doc: Document, rng: np.random.Generator) -> PseudoQuery | None:
    """A drawn sentence as the query, the document's other sentences as the positive."""
    parts = sentences(doc.text)
    eligible = [i for i, s in enumerate(parts) if _words(s) >= MIN_QUERY_WORDS]
    if len(parts) < 2 or not eligible:
        return None
    chosen = eligible[int(rng.integers(len(eligible)))]
    rest = " ".join(parts[:chosen] + parts[chosen + 1 :])
    if _words(rest) < MIN_POSITIVE_WORDS:
        return None
    return PseudoQuery(doc.id, parts[chosen], rest, "sentence")


def pseudo_queries(docs: Iterable[Document], seed: int = 0) -> list[PseudoQuery]:
    """One pseudo-query per document that yields one: by the title rule for a document with a
    title, by the sentence rule for one without."""
    rng = np.random.default_rng(seed)
    made = []
    for doc in docs:
        pseudo = title_query(doc) if doc.title.strip() else sentence_query(doc, rng)
        if pseudo is not None:
            made.append(pseudo)
    return made


def self_supervised_examples(
    docs: Sequence[Document],
    n_negatives: int,
    teacher: Teacher | None = None,
    seed: int = 0,
    max_queries: int | None = None,
    depth: int = DEPTH,
    progress: bool = False,
) -> list[TrainingExample]:
    """Examples of pseudo-queries (at most ``max_queries``, drawn with ``seed``) with
    ``n_negatives`` BM25-mined negatives each, scored by ``teacher`` when one is given."""
    made = pseudo_queries(docs, seed)
    if not made:
        raise InputError(
            "corpus: no document gives a pseudo-query (a title of "
            f"{MIN_QUERY_WORDS}+ words, or two sentences with {MIN_POSITIVE_WORDS}+ words besides one)"
        )
    if max_queries is not None and max_queries < len(made):
        keep = np.sort(np.random.default_rng(seed).permutation(len(made))[:max_queries])
        made = [made[i] for i in keep]
    corpus = Corpus.of([d.id for d in docs], [d.full_text for d in docs])
    source = dict(zip(corpus.ids, corpus.texts))
    miner = NegativeMiner.bm25(corpus, depth, progress)
    examples = add_hard_negatives(
        [TrainingExample(p.query, p.positive) for p in made],
        miner,
        n_negatives,
        seed,
        exclude=[(source[p.doc_id],) for p in made],
    )
    return score_examples(teacher, examples) if teacher is not None else examples
