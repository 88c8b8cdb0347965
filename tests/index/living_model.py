"""A plain dictionary model of a living index, and the checks of an index against it
(imported by the living-index tests as ``from living_model import ...``)."""

from __future__ import annotations

import numpy as np
from lsr.index.segmented import SegmentedIndex

from lsr.vectors import SparseCollection, VectorMetadata

VOCAB = 40
METADATA = VectorMetadata(VOCAB)


def vectors(ids: list[str], seed: int) -> SparseCollection:
    """Vectors for ``ids`` with weights in quarters (exact in float16 and float32), so that the
    brute force and the index compute the same numbers."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in ids:
        terms = rng.choice(VOCAB, size=int(rng.integers(1, 8)), replace=False)
        rows.append((terms, rng.integers(1, 16, size=len(terms)) / 4))
    return SparseCollection.from_rows(ids, rows, METADATA)


QUERIES = vectors([f"q{i}" for i in range(6)], seed=12345)


def model_of(collection: SparseCollection) -> dict[str, dict[int, float]]:
    return {
        doc_id: dict(zip(terms.tolist(), values.tolist()))
        for doc_id, terms, values in collection.rows()
    }


def brute_force(model: dict[str, dict[int, float]], q: int) -> dict[str, float]:
    """Every live document's positive score for query ``q``, in float64."""
    terms, weights = QUERIES.row(q)
    query = dict(zip(terms.tolist(), weights.tolist()))
    scores = {d: sum(w * query.get(t, 0.0) for t, w in vec.items()) for d, vec in model.items()}
    return {d: s for d, s in scores.items() if s > 0}


def check_search(index: SegmentedIndex, model: dict, k: int, exact: bool = True) -> None:
    """Exact search returns the k best live documents (any order among equal scores) with their
    scores; approximate search returns only live documents with their true scores."""
    searcher = index.exact() if exact else index
    results = searcher.search_batch(QUERIES, k=k)
    for q in range(len(QUERIES)):
        truth = brute_force(model, q)
        hits = results.hits(q)
        for doc_id, score in hits:
            assert doc_id in truth, f"query {q}: {doc_id} is deleted or scores 0"
            assert abs(truth[doc_id] - score) <= 1e-5 * truth[doc_id]
        assert len({d for d, _ in hits}) == len(hits)
        if exact:
            expected = sorted(truth.values(), reverse=True)[:k]
            np.testing.assert_allclose([s for _, s in hits], expected, rtol=1e-5)


def contents(index: SegmentedIndex) -> dict[str, dict[int, float]]:
    """Every live document of ``index`` as the model holds it."""
    found: dict[str, dict[int, float]] = {}
    for part in index.parts:
        for position, doc_id in zip(
            part.live_positions.tolist(), part.segment.ids_at(part.live_positions), strict=True
        ):
            terms, weights = part.segment.forward.document(position)
            assert doc_id not in found, f"{doc_id} is live twice"
            found[doc_id] = dict(zip(terms.tolist(), weights.tolist()))
    return found
