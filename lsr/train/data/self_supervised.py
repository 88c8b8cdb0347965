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

A document gives one pair by default. With ``per_document`` = k it gives up to k: its title (when
it has one), then sentences of its text drawn without repeats, each with the rest of the text as
the positive. ICT draws a new sentence of a passage at every epoch for the same reason: a title
is one short view of a document, its sentences are several more (Cranfield's 1,400 documents
give 1,400 title pairs, and ten times as many sentences).

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


def sentence_queries(doc: Document, rng: np.random.Generator, n: int = 1) -> list[PseudoQuery]:
    """Up to ``n`` distinct drawn sentences of the text, each the query of a pair whose positive
    is the text's other sentences; a copy of the title in the text is not drawn (the title
    rule's query already)."""
    parts = sentences(doc.text)
    title = _squeeze(doc.title)
    eligible = [i for i, s in enumerate(parts) if _words(s) >= MIN_QUERY_WORDS and s != title]
    if len(parts) < 2 or not eligible or n < 1:
        return []
    # one sentence: the single draw of runs before ``n`` existed, so their examples stay the same
    drawn = [int(rng.integers(len(eligible)))] if n == 1 else rng.permutation(len(eligible))[:n]
    made = []
    for chosen in (eligible[i] for i in drawn):
        rest = " ".join(parts[:chosen] + parts[chosen + 1 :])
        if _words(rest) >= MIN_POSITIVE_WORDS:
            made.append(PseudoQuery(doc.id, parts[chosen], rest, "sentence"))
    return made


def sentence_query(doc: Document, rng: np.random.Generator) -> PseudoQuery | None:
    """A drawn sentence as the query, the document's other sentences as the positive."""
    made = sentence_queries(doc, rng)
    return made[0] if made else None


def pseudo_queries(
    docs: Iterable[Document], seed: int = 0, per_document: int = 1
) -> list[PseudoQuery]:
    """Up to ``per_document`` pseudo-queries per document: the title rule first for a document
    with a title, then the sentence rule for the rest."""
    rng = np.random.default_rng(seed)
    made = []
    for doc in docs:
        titled = doc.title.strip() != ""
        title = title_query(doc) if titled else None
        made += [title] if title is not None else []
        made += sentence_queries(doc, rng, per_document - titled)
    return made


def self_supervised_examples(
    docs: Sequence[Document],
    n_negatives: int,
    teacher: Teacher | None = None,
    seed: int = 0,
    max_queries: int | None = None,
    depth: int = DEPTH,
    progress: bool = False,
    per_document: int = 1,
) -> list[TrainingExample]:
    """Examples of pseudo-queries (``per_document`` at most per document, at most
    ``max_queries`` in all, drawn with ``seed``) with ``n_negatives`` BM25-mined negatives each,
    scored by ``teacher`` when one is given."""
    made = pseudo_queries(docs, seed, per_document)
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
