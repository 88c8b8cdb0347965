"""benchmarks.forward_order: its orders are permutations placing each document as their
definitions say (checked against plain loops), a permuted forward index holds the same rows,
and every layout scores the same documents to the same sum."""

from __future__ import annotations

import numpy as np
from lsr.index import BuildConfig, SeismicIndex
from lsr.index.forward import side_by_side

from benchmarks.forward_order import (
    _documents_ahead,
    heaviest_term_order,
    near_shares,
    permuted,
    primary_block_order,
)
from benchmarks.index_profile import _documents_only
from lsr.vectors import SparseCollection, VectorMetadata

RNG = np.random.default_rng(7)
ROWS = [
    (RNG.choice(300, size=int(RNG.integers(1, 40)), replace=False), RNG.lognormal(0, 0.7, 40))
    for _ in range(800)
]
DOCS = SparseCollection.from_rows(
    [f"d{i}" for i in range(800)],
    [(terms, weights[: len(terms)]) for terms, weights in ROWS],
    VectorMetadata(300),
)
INDEX = SeismicIndex.build(DOCS, BuildConfig(n_postings=30))
INDEX.forward = INDEX.forward.to_two_arrays()  # as benchmarks.forward_order's experiment reads it


def _row(d: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = INDEX.forward.indptr[d], INDEX.forward.indptr[d + 1]
    return INDEX.forward.terms[lo:hi], INDEX.forward.float_values(lo, hi)


def test_primary_block_order_places_each_document_by_its_heaviest_kept_term():
    postings = INDEX.postings
    primary = {}
    for t in range(INDEX.vocab_size):
        for b in range(postings.list_block_ptr[t], postings.list_block_ptr[t + 1]):
            for d in postings.post_docs[postings.block_ptr[b] : postings.block_ptr[b + 1]]:
                terms, weights = _row(int(d))
                weight = weights[np.flatnonzero(terms == t)[0]]
                if int(d) not in primary or weight > primary[int(d)][0]:
                    primary[int(d)] = (weight, b)
    key = [primary.get(d, (0, postings.n_blocks))[1] for d in range(len(INDEX))]
    expected = sorted(range(len(INDEX)), key=lambda d: (key[d], d))
    assert primary_block_order(INDEX).tolist() == expected


def test_heaviest_term_order_groups_documents_by_their_heaviest_term():
    key = []
    for d in range(len(INDEX)):
        terms, weights = _row(d)
        key.append(int(terms[np.argmax(weights)]))
    expected = sorted(range(len(INDEX)), key=lambda d: (key[d], d))
    assert heaviest_term_order(INDEX).tolist() == expected


def test_permuted_rows_hold_the_documents():
    order = primary_block_order(INDEX)
    indptr, terms, values = permuted(INDEX, order, huge=False)
    for i, d in enumerate(order.tolist()):
        lo, hi = INDEX.forward.indptr[d], INDEX.forward.indptr[d + 1]
        assert terms[indptr[i] : indptr[i + 1]].tolist() == INDEX.forward.terms[lo:hi].tolist()
        assert values[indptr[i] : indptr[i + 1]].tolist() == INDEX.forward.values[lo:hi].tolist()


def test_every_layout_scores_the_same_documents_to_the_same_sum():
    queries = (np.array([0, 3, 5]), np.array([1, 7, 40, 7, 9], np.int32),
               np.array([0.5, 1.0, 2.0, 1.5, 0.25], np.float32))  # fmt: skip
    ptr, docs = np.array([0, 37, 60]), RNG.integers(0, len(INDEX), 60)
    q_dense = np.zeros(INDEX.vocab_size, np.float32)
    forward = (INDEX.forward.indptr, INDEX.forward.terms, INDEX.forward.values)
    expected = _documents_only(forward, queries, ptr, docs, q_dense)
    order = heaviest_term_order(INDEX)
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    moved = _documents_only(
        permuted(INDEX, order, huge=True), queries, ptr, position[docs], q_dense
    )
    rows = _documents_only((forward[0], side_by_side(*forward)), queries, ptr, docs, q_dense)
    ahead = [_documents_ahead(forward, queries, ptr, docs, q_dense, a) for a in (1, 8, 64)]
    assert {moved, rows, *ahead} == {expected}
    assert not q_dense.any()


def test_near_shares_count_pairs_within_a_query_only():
    # Query 0: gaps 1, 100; query 1: gap 600 (the pair 101 -> 5 across queries is not counted).
    shares = near_shares(np.array([0, 3, 5]), np.array([0, 1, 101, 5, 605]))
    assert shares == [1 / 3, 1 / 3, 2 / 3]
