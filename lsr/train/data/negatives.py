"""Hard negatives mined through our own index, with BM25 or with any sparse encoder.

A hard negative is a document the retriever ranks high for a query although it is not among the
query's positives. Contrastive training on them, rather than on in-batch negatives alone, is what
the stronger SPLADE recipes add (Formal et al., "From Distillation to Hard Negative Sampling:
Making Sparse Neural IR Models More Effective", SIGIR 2022).

Mining a query: its exact top-``depth`` by inner product over the corpus encoded with the miner's
encoder (:class:`~lsr.index.ExactIndex`, so the pool does not depend on approximate search), minus
every document whose text is one of the query's positives (a duplicate of a positive under another
id is a positive too), then ``n`` drawn uniformly from what is left. Drawing from the top
``depth`` instead of taking the very top ``n`` spreads the draws away from the head of the
ranking, where unlabelled positives (false negatives) gather (Qu et al., "RocketQA", NAACL 2021,
section 4.2). A query matching fewer documents is topped up with random corpus documents, so that
every example gets exactly ``n`` and the trainer's batches keep one shape.

The encoder can be the model being trained: :class:`NegativeRefresher` is the callable the trainer
invokes every N steps to re-mine with the current model (ANCE's asynchronous refresh, Xiong et al.,
ICLR 2021, done synchronously).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np

from lsr.encoders import Bm25Encoder, Encoder
from lsr.errors import InputError
from lsr.index import ExactIndex
from lsr.train.data.corpus import Corpus
from lsr.train.examples import TrainingExample

DEPTH = 100

Seed = int | Sequence[int]


def _check_positive(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return value


class NegativeMiner:
    """A corpus encoded once by ``encoder`` and indexed exactly; it ranks queries and draws
    negatives from their top ``depth``."""

    def __init__(
        self, corpus: Corpus, encoder: Encoder, depth: int = DEPTH, progress: bool = False
    ) -> None:
        if len(corpus) == 0:
            raise InputError("corpus is empty: there is nothing to mine negatives from")
        self.corpus = corpus
        self.encoder = encoder
        self.depth = min(_check_positive("depth", depth), len(corpus))
        documents = encoder.encode_documents(list(corpus.texts), list(corpus.ids), progress)
        self._index = ExactIndex(documents)

    @classmethod
    def bm25(cls, corpus: Corpus, depth: int = DEPTH, progress: bool = False) -> NegativeMiner:
        """A miner over BM25 fitted on the corpus itself (its idf is the corpus's)."""
        return cls(corpus, Bm25Encoder.fit(corpus.texts, progress=progress), depth, progress)

    def ranked(self, queries: Sequence[str]) -> list[np.ndarray]:
        """Corpus positions of each query's top ``depth``, best first (fewer if fewer match)."""
        if not queries:
            return []
        results = self._index.search_batch(self.encoder.encode_queries(list(queries)), self.depth)
        return [row[row >= 0] for row in results.docs]

    def draw(
        self,
        ranked: np.ndarray,
        positives: Collection[str],
        n: int,
        rng: np.random.Generator,
    ) -> tuple[str, ...]:
        """``n`` distinct negative texts: drawn from ``ranked`` minus ``positives`` (texts), then
        topped up with random corpus documents; in ranking order, top-up last."""
        texts = self.corpus.texts
        pool = list(dict.fromkeys(texts[p] for p in ranked if texts[p] not in positives))
        picked = [pool[i] for i in np.sort(rng.permutation(len(pool))[:n])]
        if len(picked) < n:
            picked += self._top_up(positives, picked, n, rng)
        return tuple(picked)

    def _top_up(
        self, positives: Collection[str], picked: list[str], n: int, rng: np.random.Generator
    ) -> list[str]:
        """Random corpus documents, neither positive nor picked, up to ``n`` in all (called
        only when some are missing)."""
        taken = set(positives) | set(picked)
        extra: list[str] = []
        missing = n - len(picked)
        for position in rng.permutation(len(self.corpus)):
            text = self.corpus.texts[position]
            if text not in taken:
                taken.add(text)
                extra.append(text)
                if len(extra) == missing:
                    return extra
        raise InputError(
            f"n: cannot draw {n} negatives, the corpus has only {len(picked) + len(extra)} "
            "distinct documents besides the query's positives"
        )


def add_hard_negatives(
    examples: Sequence[TrainingExample],
    miner: NegativeMiner,
    n: int,
    seed: Seed = 0,
    exclude: Sequence[Collection[str]] | None = None,
) -> list[TrainingExample]:
    """Each example with ``n`` mined negatives appended to its own, and no scores.

    A query's positives are the positives of *every* example with that query text, so no
    example gets another's positive as its negative; ``exclude[i]`` adds texts example i must
    not draw either (a pseudo-query's source document, whose positive is only part of it).
    Each distinct query is searched once; each example draws its own negatives from one
    generator seeded by ``seed`` (same input, same seed: same output). Scores are dropped
    because they scored the old document list; score the result with a teacher
    (:mod:`lsr.train.data.teachers`).
    """
    _check_positive("n", n)
    if exclude is not None and len(exclude) != len(examples):
        raise InputError(f"exclude: {len(exclude)} collections for {len(examples)} examples")
    positives: dict[str, set[str]] = {}
    for example in examples:
        positives.setdefault(example.query, set()).add(example.positive)
    queries = list(positives)
    ranked = dict(zip(queries, miner.ranked(queries)))
    rng = np.random.default_rng(seed)
    mined = []
    for i, example in enumerate(examples):
        taboo = positives[example.query] | set(example.negatives)
        taboo |= set(exclude[i]) if exclude is not None else set()
        negatives = miner.draw(ranked[example.query], taboo, n, rng)
        mined.append(replace(example, negatives=(*example.negatives, *negatives), scores=None))
    return mined


Scorer = Callable[[Sequence[TrainingExample]], list[TrainingExample]]


@dataclass
class NegativeRefresher:
    """The callable the trainer invokes every N steps: re-mine ``examples`` (those without mined
    negatives) with ``encoder``, the model being trained, and score them with ``scorer``.

    ``encoder`` wraps the current model (e.g. ``SpladeEncoder(model, tokenizer)``, which puts the
    model in eval mode: the trainer sets it back to train mode afterwards). The draw is seeded
    by ``(seed, step)``: a resumed run re-mines what the uninterrupted one did.
    """

    examples: Sequence[TrainingExample]
    corpus: Corpus
    n: int
    depth: int = DEPTH
    seed: int = 0
    scorer: Scorer | None = None

    def __call__(self, encoder: Encoder, step: int) -> list[TrainingExample]:
        miner = NegativeMiner(self.corpus, encoder, self.depth)
        mined = add_hard_negatives(self.examples, miner, self.n, seed=(self.seed, step))
        return self.scorer(mined) if self.scorer is not None else mined
