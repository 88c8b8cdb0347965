"""A search request from its query to its hits: encode, search, page, fetch text, explain.

These functions are synchronous and run in the service's thread pools (:mod:`service.workers`):
the search kernels release the GIL (``nogil=True``), so concurrent requests search in parallel.
Every score is the index's own: the hits of a request are those of ``SeismicIndex.search`` (or
``ExactIndex.search`` with ``--exact``) for the same vector and parameters, paged by ``offset``.
"""

from __future__ import annotations

import time

import numpy as np
from lsr.index.filters import parse
from lsr.index.queries import single_query
from lsr.index.segmented import SegmentedIndex
from lsr.service.schemas import Hit, IndexedVector, MatchedTerm, SearchParameters, SearchRequest
from lsr.service.state import ServingState

from lsr.errors import InputError
from lsr.vectors import SparseCollection

WARMUP_QUERY = "how do sparse retrieval models rank documents"


class RequestError(InputError):
    """A request that passed the schema but not the loaded index or encoder; ``loc`` names the
    field as FastAPI's validation errors do (``("body", "vector", "indices", 3)``)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def encode_text(
    state: ServingState, text: str, max_tokens: int, loc: tuple
) -> tuple[np.ndarray, np.ndarray, float]:
    """A text query as (term ids, weights, milliseconds), encoded as ``lsr encode`` does."""
    if state.encoder is None:
        raise RequestError(loc, "this service has no query model (--no-model): send a 'vector'")
    start = time.perf_counter()
    tokens = state.count_tokens(text)
    if tokens > max_tokens:
        raise RequestError(loc, f"the query has {tokens} tokens; at most {max_tokens} are accepted")
    vector = state.encoder.encode_queries([text])
    return vector.indices, vector.values, 1000 * (time.perf_counter() - start)


def vector_terms(
    state: ServingState, vector: IndexedVector | dict[str, float], loc: tuple
) -> tuple[np.ndarray, np.ndarray]:
    """A ready query vector as (term ids, weights), checked against the index's vocabulary."""
    if isinstance(vector, IndexedVector):
        terms = np.asarray(vector.indices, dtype=np.int64)
        outside = np.flatnonzero(terms >= state.index.vocab_size)
        if len(outside):
            at = int(outside[0])
            raise RequestError(
                (*loc, "indices", at),
                f"term id {terms[at]} is outside the vocabulary [0, {state.index.vocab_size})",
            )
        return terms, np.asarray(vector.values, dtype=np.float32)
    if not state.token_ids:
        raise RequestError(loc, "the index has no vocabulary: send 'indices' and 'values'")
    ids = []
    for token in vector:
        if token not in state.token_ids:
            raise RequestError((*loc, token), f"unknown token {token!r} (not in the vocabulary)")
        ids.append(state.token_ids[token])
    return np.asarray(ids, dtype=np.int64), np.asarray(list(vector.values()), dtype=np.float32)


def find(
    state: ServingState,
    terms: np.ndarray,
    weights: np.ndarray,
    params: SearchParameters,
    loc: tuple,
    options: dict | None = None,
) -> tuple[list[Hit], float]:
    """The hits of one query vector (and the milliseconds the search took); ``options`` from
    :func:`filter_option`."""
    start = time.perf_counter()
    try:
        indptr, terms, weights = single_query(terms, weights, state.index.vocab_size)
    except InputError as exc:
        raise RequestError(loc, str(exc)) from None
    positions, scores = top_k(state, indptr, terms, weights, params, options or {})
    took = 1000 * (time.perf_counter() - start)
    return hits(state, positions, scores, terms, weights, params), took


def top_k(state: ServingState, indptr, terms, weights, params: SearchParameters, options: dict):
    """Collection positions and scores of hits ``offset .. offset + k`` of one canonical query."""
    query = SparseCollection(["q"], indptr, terms, weights, state.index.metadata)
    depth = params.k + params.offset
    if state.exact:
        results = state.searcher.search_batch(query, k=depth, **options)
    else:
        # Parameters left out (None) are the index's stored search_defaults.
        results = state.searcher.search_batch(
            query, k=depth, query_cut=params.query_cut, heap_factor=params.heap_factor, **options
        )
    docs, scores = results.docs[0], results.scores[0]
    found = docs >= 0
    return docs[found][params.offset :], scores[found][params.offset :]


def filter_option(state: ServingState, filter_: dict | None, loc: tuple) -> dict:
    """``{"filter": ...}`` for the searcher, checked (errors name ``loc``), or nothing."""
    if filter_ is None:
        return {}
    if not isinstance(state.index, SegmentedIndex):
        raise RequestError(
            loc,
            "this index has no document attributes to filter on; add documents with attributes "
            "(lsr index add --attributes) to filter",
        )
    try:
        return {"filter": parse(filter_)}
    except InputError as exc:
        raise RequestError(loc, str(exc)) from None


def hits(
    state: ServingState,
    positions: np.ndarray,
    scores: np.ndarray,
    terms: np.ndarray,
    weights: np.ndarray,
    params: SearchParameters,
) -> list[Hit]:
    ids = [state.index.doc_ids[p] for p in positions.tolist()]
    out = [Hit(id=doc_id, score=float(score)) for doc_id, score in zip(ids, scores.tolist())]
    if params.include_text and state.docstore is not None:
        for hit, doc in zip(out, state.docstore.get_many(ids)):
            if doc is not None:
                hit.title, hit.text = doc.title, doc.text
    if params.explain:
        for hit, position in zip(out, positions.tolist()):
            hit.matched = explain(state, position, terms, weights)
    return out


def explain(
    state: ServingState, position: int, terms: np.ndarray, weights: np.ndarray
) -> list[MatchedTerm]:
    """The terms a document shares with the query, largest contribution first.

    A score is the inner product ``sum_t q_t * d_t`` over shared terms (Seismic, eq. 1), with
    ``d_t`` as the index stores it (float16 by default), so the contributions sum to the score
    up to float32 rounding of the sum's order.
    """
    doc_terms, doc_values = state.index.document(position)
    _, in_query, in_doc = np.intersect1d(terms, doc_terms, assume_unique=True, return_indices=True)
    query_weights = weights[in_query]
    doc_weights = doc_values[in_doc]
    contributions = query_weights * doc_weights
    order = np.argsort(-contributions, kind="stable")
    return [
        MatchedTerm(
            term=term_name(state, int(terms[in_query[i]])),
            query_weight=float(query_weights[i]),
            doc_weight=float(doc_weights[i]),
            contribution=float(contributions[i]),
        )
        for i in order.tolist()
    ]


def term_name(state: ServingState, term: int) -> str:
    """A term id as its token, or as the number when the vectors have no vocabulary."""
    return state.vocabulary[term] if state.vocabulary else str(term)


def warm_up(state: ServingState) -> None:
    """Encode and search one query, so that the first user does not pay for lazy loading
    (Numba's cached kernels, torch's first call)."""
    if state.encoder is not None:
        terms, weights, _ = encode_text(state, WARMUP_QUERY, len(WARMUP_QUERY), ("query",))
    else:
        terms, weights = np.zeros(1, np.int64), np.ones(1, np.float32)
    find(state, terms, weights, SearchRequest(query=WARMUP_QUERY), ("vector",))
