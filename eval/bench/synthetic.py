"""Synthetic learned sparse vectors with the statistics of real SPLADE output, at any scale.

The index benchmark needs a million-document collection, and encoding one on two CPU cores
would take hours; what the index is sensitive to is the *shape* of the data, which this module
reproduces from measured statistics of splade-tiny on SciFact (``eval.bench.real_vectors``):

- **Vocabulary** of 30,522 terms (BERT uncased), of which SPLADE activates most.
- **Term popularity is Zipfian** (Baeza-Yates & Ribeiro-Neto, ch. 6): a term of popularity rank
  ``r`` is drawn with probability proportional to ``r ** -zipf_exponent``; posting-list lengths
  span six orders of magnitude, which is what makes static pruning (``n_postings``) matter.
- **A few near-universal terms** (SPLADE's expansion of function words and frequent subwords):
  ``n_universal`` terms appear in ``universal_df`` of all vectors with low weights, so some
  posting lists cover most of the collection.
- **Topical structure**: every vector belongs to one of ``n_topics`` topics (sizes Zipfian too,
  like real subject areas); ``topic_share`` of its terms come from the topic's own vocabulary
  of ``topic_vocabulary`` terms (drawn from the global popularity, so topics overlap on popular
  terms), the rest from the global distribution. Documents of a topic therefore form the
  clusters that Seismic's blocking exploits (Bruch et al., SIGIR 2024, section 4.2).
- **Log-normal weights**, ``exp(N(mu, sigma))``: topic terms carry larger weights than global
  terms, near-universal terms small ones, as SPLADE weights specific terms above generic ones.
- **Lengths** are log-normal around ``doc_terms`` (~200; splade-tiny on SciFact: 248 per
  document) and ``query_terms`` (~50; splade-tiny on SciFact: 53 per query).

Queries are drawn like documents from a random topic, with **flatter weights** (smaller
``query_sigma``) and a larger global share. That is deliberate: a query whose mass sits on two or
three topic terms makes the task too easy (``query_cut`` 3 already gives recall@10 0.99 with
peaked queries); with flat weights the top-10 depends on many terms jointly and the
recall/``query_cut`` curve behaves like the real vectors' (see ``reports/bench-index.md``).

Generation is vectorised numpy in chunks of ``chunk_size`` documents: a million documents of
~200 terms (200M entries, 1.6 GB as int32 + float32) take well under a minute, and no temporary
holds more than one chunk's draws.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from lsr.vectors import SparseCollection, VectorMetadata, provenance

BERT_VOCAB_SIZE = 30_522


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the generator; defaults calibrated on splade-tiny over SciFact."""

    vocab_size: int = BERT_VOCAB_SIZE
    zipf_exponent: float = 1.0
    n_universal: int = 8
    universal_df: tuple[float, float] = (0.6, 0.95)
    n_topics: int = 0  # 0: one topic per 500 documents, at least 20
    topic_zipf_exponent: float = 0.5
    topic_vocabulary: int = 400
    doc_terms: float = 200.0
    doc_terms_sigma: float = 0.3
    topic_share: float = 0.5
    doc_mu: float = -0.9
    doc_sigma: float = 0.6
    topic_boost: float = 0.7
    universal_mu: float = -1.6
    query_terms: float = 50.0
    query_terms_sigma: float = 0.25
    query_topic_share: float = 0.4
    query_mu: float = -0.3
    query_sigma: float = 0.35
    seed: int = 0
    chunk_size: int = 65_536

    def topics_for(self, n_docs: int) -> int:
        return self.n_topics or max(20, n_docs // 500)

    def fingerprint(self) -> str:
        """Short digest of every parameter: names cache files of generated collections."""
        text = json.dumps(_json(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class _Model:
    """The random structure shared by documents and queries: popularity, topics, universals."""

    global_terms: _Alias  # popularity ranks -> term ids through rank_to_term
    rank_to_term: np.ndarray  # int64 [vocab]: term id of each popularity rank
    topics: _Alias  # topic sizes
    topic_terms: np.ndarray  # int64 [n_topics, topic_vocabulary]
    within_topic: _Alias  # slot of a topic's vocabulary
    universal_terms: np.ndarray  # int64 [n_universal]
    universal_df: np.ndarray  # float64 [n_universal]


def generate(
    n_docs: int, n_queries: int, config: SyntheticConfig = SyntheticConfig(), progress: bool = False
) -> tuple[SparseCollection, SparseCollection]:
    """``n_docs`` documents and ``n_queries`` queries drawn from one synthetic model (seeded)."""
    rng = np.random.default_rng(config.seed)
    model = _build_model(config, config.topics_for(n_docs), rng)
    docs = _draw_collection(n_docs, "d", model, config, rng, side="documents", progress=progress)
    queries = _draw_collection(n_queries, "q", model, config, rng, side="queries")
    return docs, queries


def _zipf(n: int, exponent: float) -> np.ndarray:
    weights = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    return weights / weights.sum()


class _Alias:
    """Walker's alias table (Vose's construction): O(1) draws from a discrete distribution.

    Several times faster than inverse-CDF search for the 200M draws of a large collection.
    """

    def __init__(self, probabilities: np.ndarray) -> None:
        n = len(probabilities)
        scaled = probabilities * (n / probabilities.sum())
        self.accept = np.ones(n, dtype=np.float64)
        self.alias = np.arange(n, dtype=np.int64)
        small = [i for i in range(n) if scaled[i] < 1.0]
        large = [i for i in range(n) if scaled[i] >= 1.0]
        while small and large:
            low, high = small.pop(), large[-1]
            self.accept[low] = scaled[low]
            self.alias[low] = high
            scaled[high] -= 1.0 - scaled[low]
            if scaled[high] < 1.0:
                small.append(large.pop())

    def draw(self, size: int, rng: np.random.Generator) -> np.ndarray:
        slots = rng.integers(0, len(self.accept), size)
        return np.where(rng.random(size) < self.accept[slots], slots, self.alias[slots])


def _build_model(config: SyntheticConfig, n_topics: int, rng: np.random.Generator) -> _Model:
    rank_to_term = rng.permutation(config.vocab_size).astype(np.int64)
    popularity = _zipf(config.vocab_size, config.zipf_exponent)
    return _Model(
        global_terms=_Alias(popularity),
        rank_to_term=rank_to_term,
        topics=_Alias(_zipf(n_topics, config.topic_zipf_exponent)),
        topic_terms=rank_to_term[_topic_vocabularies(config, n_topics, popularity, rng)],
        within_topic=_Alias(_zipf(config.topic_vocabulary, 1.0)),
        universal_terms=rank_to_term[: config.n_universal],
        universal_df=np.linspace(*config.universal_df[::-1], config.n_universal),
    )


def _topic_vocabularies(
    config: SyntheticConfig, n_topics: int, popularity: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Popularity ranks of every topic's vocabulary, ``[n_topics, topic_vocabulary]``.

    Half popular terms, half specific ones: ranks are sampled without replacement from an equal
    mixture of the global Zipf law and the uniform law (the universal terms excluded), with the
    Gumbel top-k trick (Vieira 2014), a hundred topics at a time.
    """
    mixture = 0.5 * popularity + 0.5 / config.vocab_size
    log_p = np.log(mixture)
    log_p[: config.n_universal] = -np.inf
    out = np.empty((n_topics, config.topic_vocabulary), dtype=np.int64)
    for start in range(0, n_topics, 100):
        stop = min(start + 100, n_topics)
        keys = log_p + rng.gumbel(size=(stop - start, config.vocab_size))
        top = np.argpartition(-keys, config.topic_vocabulary, axis=1)
        out[start:stop] = rng.permuted(top[:, : config.topic_vocabulary], axis=1)
    return out


@dataclass(frozen=True)
class _Side:
    """How one kind of vector (documents or queries) is drawn."""

    terms: float
    terms_sigma: float
    topic_share: float
    mu: float
    sigma: float


def _side(config: SyntheticConfig, side: str) -> _Side:
    if side == "documents":
        return _Side(
            config.doc_terms,
            config.doc_terms_sigma,
            config.topic_share,
            config.doc_mu,
            config.doc_sigma,
        )
    return _Side(
        config.query_terms,
        config.query_terms_sigma,
        config.query_topic_share,
        config.query_mu,
        config.query_sigma,
    )


def _draw_collection(
    n: int,
    prefix: str,
    model: _Model,
    config: SyntheticConfig,
    rng: np.random.Generator,
    side: str,
    progress: bool = False,
) -> SparseCollection:
    spec = _side(config, side)
    width = len(str(max(n - 1, 0)))
    ids = [f"{prefix}{i:0{width}d}" for i in range(n)]
    indptr = np.zeros(n + 1, dtype=np.int64)
    indices, values = [], []
    starts = range(0, n, config.chunk_size)
    for start in tqdm(starts, desc=f"synthetic {side}", unit="chunk", disable=not progress):
        size = min(config.chunk_size, n - start)
        lengths, terms, weights = _draw_chunk(size, model, spec, config, rng)
        indptr[start + 1 : start + size + 1] = lengths
        indices.append(terms)
        values.append(weights)
    np.cumsum(indptr, out=indptr)
    metadata = VectorMetadata(
        vocab_size=config.vocab_size,
        provenance=provenance(generator="eval.bench.synthetic", side=side, **_json(config)),
    )
    return SparseCollection(
        ids,
        indptr,
        np.concatenate(indices).astype(np.int32),
        np.concatenate(values).astype(np.float32),
        metadata,
    )


def _json(config: SyntheticConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def _draw_chunk(
    size: int, model: _Model, spec: _Side, config: SyntheticConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row lengths, term ids and weights of ``size`` vectors, rows canonical (sorted, unique).

    Term draws come with replacement, so a little more than the target is drawn and repeated
    terms are merged. The source of a draw (0 topic, 1 global, 2 universal) rides in the low
    bits of its sort key, so after one sort the first copy of a term is its topic draw when
    there is one, and the term keeps the (larger) topic weight.
    """
    topics = model.topics.draw(size, rng)
    target = np.exp(np.log(spec.terms) + spec.terms_sigma * rng.standard_normal(size))
    n_topic = np.rint(target * spec.topic_share * 1.25).astype(np.int64)
    n_global = np.rint(target * (1 - spec.topic_share) * 1.05).astype(np.int64)

    topic_draws = model.topic_terms[
        np.repeat(topics, n_topic), model.within_topic.draw(int(n_topic.sum()), rng)
    ]
    global_draws = model.rank_to_term[model.global_terms.draw(int(n_global.sum()), rng)]
    universal_rows, which = np.nonzero(
        rng.random((size, len(model.universal_terms))) < model.universal_df
    )
    keys = np.concatenate(
        [
            (np.repeat(np.arange(size), n_topic) * config.vocab_size + topic_draws) * 4,
            (np.repeat(np.arange(size), n_global) * config.vocab_size + global_draws) * 4 + 1,
            (universal_rows * config.vocab_size + model.universal_terms[which]) * 4 + 2,
        ]
    )
    keys.sort()
    cells = keys >> 2
    first = np.ones(len(keys), dtype=bool)
    first[1:] = cells[1:] != cells[:-1]
    cells, source = cells[first], keys[first] & 3
    mu = np.array([spec.mu + config.topic_boost, spec.mu, config.universal_mu])[source]
    weights = np.exp(mu + spec.sigma * rng.standard_normal(len(cells)))
    lengths = np.bincount(cells // config.vocab_size, minlength=size)
    return lengths, cells % config.vocab_size, weights
