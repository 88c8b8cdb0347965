"""The block-skipping rule of ``index/search.py`` on a hand-built index.

One term, one posting list of three blocks of 1, 2 and 4 documents (so the number of documents a
query scores names the set of blocks it visited). Every document holds only that term and the
summaries keep everything (``summary_energy`` 1), so a block's summary is its largest weight,
exactly (one value quantizes without loss). With the query weight 1 and k = 1, block 0 puts its
score 2 in the heap, and block ``b`` is skipped iff ``max_b < heap_factor * 2`` — the reference's
``dot < heap_factor * heap.peek()``, strictly less.
"""

from __future__ import annotations

import dataclasses
import heapq

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from index_data import random_collection
from lsr.index import BuildConfig, SeismicIndex, bitset
from lsr.index.forward import ForwardIndex
from lsr.index.postings import PostingLists
from lsr.index.search import heaviest, new_scratch, new_searcher, search_serial, search_single
from lsr.index.shared_bound import NO_SEARCHERS, new_shared, unshared
from lsr.index.summary import MASK_BLOCKS, build_summaries

from lsr.vectors import SparseCollection, VectorMetadata

JUST_BELOW_ONE = np.nextafter(np.float32(1.0), np.float32(0.0))
BLOCKS = [[2.0], [1.0, 0.5], [JUST_BELOW_ONE, 0.25, 0.25, 0.25]]
QUERY = SparseCollection.from_rows(["q"], [([0], [1.0])], VectorMetadata(1))


def hand_built(blocks: list[list[float]], mask_blocks: int = MASK_BLOCKS) -> SeismicIndex:
    """One list whose blocks hold one document per weight, in the order given (its one group
    masked unless ``mask_blocks`` is below its number of blocks)."""
    weights = np.array([w for block in blocks for w in block], dtype=np.float32)
    n = len(weights)
    forward = ForwardIndex(
        np.arange(n + 1, dtype=np.int64), np.zeros(n, np.uint16), weights, "float32", 1
    )
    postings = PostingLists(
        np.array([0, len(blocks)], np.int64),
        np.concatenate([[0], np.cumsum([len(b) for b in blocks])]).astype(np.int64),
        np.arange(n, dtype=np.uint16),
    )
    summaries = build_summaries(forward, postings, 1.0, mask_blocks=mask_blocks)
    np.testing.assert_array_equal(summaries.block_min, [max(b) for b in blocks])
    np.testing.assert_array_equal(summaries.block_scale, 0.0)
    knn = np.zeros((n, 0), np.int32)
    config = BuildConfig(value_dtype="float32")
    ids = [f"d{i}" for i in range(n)]
    return SeismicIndex(ids, VectorMetadata(1), config, forward, postings, summaries, knn, {})


@pytest.fixture(scope="module")
def index() -> SeismicIndex:
    return hand_built(BLOCKS)


def scored_blocks(index: SeismicIndex, k: int, heap_factor: float, **params) -> set[int]:
    """The blocks (of sizes 1, 2, 4 in some order) a one-term query visited, read off the
    number of documents it scored."""
    sizes = np.diff(index.postings.block_ptr).tolist()
    scored = int(index.search_batch(QUERY, k=k, heap_factor=heap_factor, **params).scored[0])
    return {b for b, size in enumerate(sizes) if scored & size}


def _float32_after(value: float, direction: float) -> float:
    return float(np.nextafter(np.float32(value), np.float32(direction)))


@pytest.mark.parametrize(
    ("heap_factor", "visited"),
    [
        # threshold 1.0: block 1 (summary 1.0) is not below it, block 2 (just under 1) is
        (0.5, {0, 1}),
        # threshold just under 1.0: equal to block 2's summary, so block 2 is visited too
        (_float32_after(0.5, 0.0), {0, 1, 2}),
        # threshold just over 1.0: both later blocks fall below it
        (_float32_after(0.5, 1.0), {0}),
        (0.0, {0, 1, 2}),
    ],
)
def test_a_block_is_skipped_iff_its_summary_is_below_heap_factor_times_heap_min(
    index, heap_factor, visited
):
    assert scored_blocks(index, k=1, heap_factor=heap_factor) == visited


def test_nothing_is_skipped_before_the_heap_holds_k_documents(index):
    assert scored_blocks(index, k=4, heap_factor=100.0) == {0, 1, 2}


def test_first_sorted_visits_by_decreasing_summary():
    """Blocks stored worst first: in storage order every block raises the heap minimum before
    the next is tested, so none is skipped; by decreasing summary the best block comes first
    and the last one (just under 1) is skipped."""
    worst_first = hand_built(BLOCKS[::-1])
    assert scored_blocks(worst_first, k=1, heap_factor=0.5) == {0, 1, 2}
    assert scored_blocks(worst_first, k=1, heap_factor=0.5, first_sorted=True) == {1, 2}


def test_global_order_visits_by_decreasing_summary():
    """One list stored worst first: the global order visits its best block first (as
    first_sorted does), so the heap minimum 2 skips the block just under 1 at heap_factor 0.5,
    and both later blocks just above it."""
    worst_first = hand_built(BLOCKS[::-1])
    assert scored_blocks(worst_first, k=1, heap_factor=0.5, global_order=True) == {1, 2}
    above = _float32_after(0.5, 1.0)
    assert scored_blocks(worst_first, k=1, heap_factor=above, global_order=True) == {2}


def test_skipping_keeps_the_best_document(index):
    ids, scores = index.search(np.array([0]), np.array([1.0]), k=1, heap_factor=100.0)
    assert ids == ["d0"] and scores.tolist() == [2.0]


@pytest.mark.parametrize(
    ("mask_blocks", "array", "value"),
    [
        (0, "entry_block", 255),  # a block number past the list's 3 blocks
        (0, "comp_checkpoints", 2**31 - 1),  # an entry offset past every array
        (0, "comp_checkpoints", -(2**31)),  # entries read before the array
        (0, "comp_counts", 255),  # a component running past the entries
        (0, "comp_terms", 7),  # the query's term missing from the directory
        (MASK_BLOCKS, "comp_counts", 255),  # a mask of 8 blocks (5 past the list's 3, 5 entries)
        (MASK_BLOCKS, "comp_counts", 0),  # an empty mask (the 3 entries left to no block)
        (MASK_BLOCKS, "comp_terms", 7),
    ],
)
def test_damaged_summary_entries_misdirect_scores_but_stay_inside_the_arrays(
    mask_blocks, array, value
):
    """Loading does not scan the summaries' entries; the kernel bounds what it reads, counted
    (``mask_blocks`` 0) or masked."""
    index = hand_built(BLOCKS, mask_blocks)
    summaries = index.summaries
    damaged = getattr(summaries, array).copy()  # same dtype: no new compilation
    damaged[0] = value
    index.summaries = dataclasses.replace(summaries, **{array: damaged})
    index = SeismicIndex(
        index.doc_ids, index.metadata, index.config, index.forward, index.postings,
        index.summaries, index.knn, {},
    )  # fmt: skip
    ids, scores = index.search(np.array([0]), np.array([1.0]), k=3, heap_factor=0.0)
    # Every block is visited (heap_factor 0) and documents are scored exactly: the top 3 stands.
    assert ids == ["d0", "d1", "d3"]
    np.testing.assert_array_equal(scores, np.array([2.0, 1.0, JUST_BELOW_ONE], np.float32))


def summary_scores(index: SeismicIndex, terms, weights, t: int) -> np.ndarray:
    """The query's score of every summary of list ``t``, accumulated as the kernel does
    (float32, query terms in order)."""
    b0, b1 = (int(x) for x in index.postings.list_block_ptr[t : t + 2])
    entry_terms, blocks, codes = index.summaries.list_entries(t, b1 - b0)
    scores = np.zeros(b1 - b0, np.float32)
    for term, w in zip(terms, weights):
        at = entry_terms == term
        b = blocks[at].astype(np.int64)
        value = codes[at].astype(np.float32) * index.summaries.block_scale[b0 + b]
        scores[b] += (value + index.summaries.block_min[b0 + b]) * w
    return scores


def visiting_order(index, terms, weights, query_cut, first_sorted, global_order):
    """``(block, summary score)`` in the order the search tests them: list after list
    (the first by decreasing score with ``first_sorted``), or with ``global_order`` every
    list's blocks by decreasing score, ties by their place in the lists' order."""
    visits = []
    for rank, j in enumerate(np.argsort(-weights, kind="mergesort")[:query_cut]):
        t = int(terms[j])
        b0 = int(index.postings.list_block_ptr[t])
        scores = summary_scores(index, terms, weights, t)
        by_score = first_sorted and rank == 0 and not global_order
        order = np.argsort(-scores, kind="mergesort") if by_score else range(len(scores))
        visits += [(b0 + int(b), scores[b]) for b in order]
    if global_order:
        visits.sort(key=lambda visit: -visit[1])  # stable: ties keep the lists' order
    return visits


def reference_visits(
    index: SeismicIndex, terms, weights, k, query_cut, heap_factor, first_sorted,
    global_order=False,
):  # fmt: skip
    """Algorithm 2 in plain Python over the index's arrays: the documents scored. Every block
    is tested (the kernel's global order stops at the first skipped one instead). Document
    scores in float64, which orders documents the same way but for ties at the last bit."""
    docs = index.forward.to_collection(list(index.doc_ids), index.metadata)
    weights = weights.astype(np.float32)
    heap: list[tuple[float, int]] = []  # (score, -doc): the root is the worst kept document
    visited: set[int] = set()
    order = visiting_order(index, terms, weights, query_cut, first_sorted, global_order)
    for block, summary in order:
        if len(heap) == k and summary < np.float32(heap_factor) * np.float32(heap[0][0]):
            continue
        lo, hi = index.postings.block_ptr[block : block + 2]
        for d in index.postings.post_docs[lo:hi].tolist():
            if d in visited:
                continue
            visited.add(d)
            d_terms, d_weights = docs.row(d)
            _, qi, di = np.intersect1d(terms, d_terms, return_indices=True)
            score = float(np.dot(weights[qi].astype(np.float64), d_weights[di]))
            if len(heap) < k:
                heapq.heappush(heap, (score, -d))
            elif (score, -d) > heap[0]:
                heapq.heapreplace(heap, (score, -d))
    return visited


@pytest.fixture(scope="module")
def built() -> SeismicIndex:
    return SeismicIndex.build(random_collection(400, seed=91), BuildConfig(n_postings=40))


@pytest.mark.parametrize(
    ("query_cut", "heap_factor", "first_sorted", "global_order"),
    [(10, 0.8, False, False), (3, 0.6, True, False), (5, 1.0, False, False),
     (10, 0.8, False, True), (3, 0.6, True, True), (20, 1.0, False, True)],
)  # fmt: skip
def test_blocks_visited_match_a_plain_reference(
    built, query_cut, heap_factor, first_sorted, global_order
):
    """On a built index (pruned, clustered, quantized summaries), every query scores exactly the
    documents of the blocks the reference visits."""
    index = built
    queries = random_collection(25, mean_nnz=8, seed=92, prefix="q")
    results = index.search_batch(queries, k=5, query_cut=query_cut, heap_factor=heap_factor,
                                 first_sorted=first_sorted, global_order=global_order)  # fmt: skip
    for q in range(len(queries)):
        terms, weights = queries.row(q)
        expected = reference_visits(
            index, terms, weights, 5, query_cut, heap_factor, first_sorted, global_order
        )
        assert results.scored[q] == len(expected), q


@pytest.fixture(scope="module")
def with_knn() -> SeismicIndex:
    return SeismicIndex.build(random_collection(500, seed=93), BuildConfig(n_postings=40, knn=4))


#: ``(query_cut, heap_factor, first_sorted, global_order, n_knn, excluded_share)``: exact,
#: pruned, each order, with kNN and with exclusions.
KERNEL_SETTINGS = pytest.mark.parametrize(
    ("query_cut", "heap_factor", "first_sorted", "global_order", "n_knn", "excluded_share"),
    [(200, 1e-9, False, False, 0, 0.0), (3, 0.6, True, False, 0, 0.0),
     (5, 0.9, False, False, 3, 0.0), (4, 0.8, False, False, 0, 0.3),
     (10, 1.0, True, False, 2, 0.1), (10, 0.9, False, True, 2, 0.2)],
)  # fmt: skip


@KERNEL_SETTINGS
def test_rows_side_by_side_give_the_two_arrays_results(
    with_knn, query_cut, heap_factor, first_sorted, global_order, n_knn, excluded_share
):
    """Search over the forward index's rows with ids and weights side by side (what an index
    searches) returns exactly what it returns over the two stored arrays: same documents, same
    scores, same documents scored, exact settings and pruned, with kNN and exclusions."""
    index = with_knn
    queries = random_collection(30, mean_nnz=8, seed=94, prefix="q")
    allowed = np.random.default_rng(95).random(len(index)) >= excluded_share
    excluded = bitset.from_mask(~allowed)
    assert len(index._index_arrays[0]) == 2  # float16 weights: the side-by-side layout
    two_arrays = index.forward.to_two_arrays().kernel_arrays()
    arrays = (queries.indptr, queries.indices.astype(np.int32), queries.values.astype(np.float32))
    found = []
    for forward in (index._index_arrays[0], two_arrays):
        scratch = new_scratch(index.vocab_size, len(index), index._max_blocks, excluded)
        run = search_serial(
            forward, *index._index_arrays[1:], index.knn, arrays, 10, query_cut,
            np.float32(heap_factor), first_sorted, global_order, n_knn, scratch,
            unshared(len(queries), 10), 0,
        )  # fmt: skip
        found.append(run)
    for side_by_side, separate in zip(*found, strict=True):
        np.testing.assert_array_equal(side_by_side, separate)
    assert (found[0][1] > 0).any()
    returned = found[0][0][found[0][0] >= 0]
    assert allowed[returned].all()


@KERNEL_SETTINGS
def test_a_searcher_gives_what_the_arrays_give(
    with_knn, query_cut, heap_factor, first_sorted, global_order, n_knn, excluded_share
):
    """search_single over a Searcher (the index's arrays and a scratch packed in one object)
    returns, query after query with the one scratch, exactly the rows search_serial returns
    over the arrays themselves, and leaves its scratch as found. (The arrays search reads,
    side by side here; a float32 index's two arrays go through the same code, compared with
    batch search in test_index_scan and test_index_seismic.)"""
    index = with_knn
    queries = random_collection(30, mean_nnz=8, seed=96, prefix="q")
    excluded = bitset.from_mask(np.random.default_rng(97).random(len(index)) < excluded_share)
    arrays = (queries.indptr, queries.indices.astype(np.int32), queries.values.astype(np.float32))
    settings = (query_cut, np.float32(heap_factor), first_sorted, global_order, n_knn)
    kernel = (*index._index_arrays, index.knn)
    scratch = new_scratch(index.vocab_size, len(index), index._max_blocks, excluded)
    docs, scores, _ = search_serial(
        *kernel, arrays, 10, *settings, scratch, unshared(len(queries), 10), 0
    )
    searcher = new_searcher(*kernel, index.vocab_size, scratch)
    for q in range(len(queries)):
        terms, weights = queries.row(q)
        problem, _, found, found_scores = search_single(
            searcher, terms, weights, 10, *settings, NO_SEARCHERS, 0
        )
        assert problem == 0
        np.testing.assert_array_equal(found, docs[q])
        np.testing.assert_array_equal(found_scores, scores[q])
    assert not scratch[0].any()
    np.testing.assert_array_equal(scratch[1], excluded)


@pytest.mark.parametrize("global_order", [False, True])
def test_a_searcher_sharing_a_row_gives_what_the_arrays_give(with_knn, global_order):
    """search_single as searcher 1 of a query's shared row (a segment of a sharded index)
    skips as search_serial does given the same rows: another searcher's published top-k,
    here 0.9x the query's own exact scores, lets both skip blocks neither would alone."""
    index = with_knn
    queries = random_collection(30, mean_nnz=8, seed=98, prefix="q")
    arrays = (queries.indptr, queries.indices.astype(np.int32), queries.values.astype(np.float32))
    settings = (5, np.float32(1.0), False, global_order, 0)
    kernel = (*index._index_arrays, index.knn)
    scratch = new_scratch(index.vocab_size, len(index), index._max_blocks, index._nothing_excluded)
    _, _, scored_alone = search_serial(
        *kernel, arrays, 10, *settings, scratch, unshared(len(queries), 10), 0
    )
    _, exact_scores, _ = search_serial(
        *kernel, arrays, 10, 500, np.float32(0.0), False, False, 0, scratch,
        unshared(len(queries), 10), 0,
    )  # fmt: skip

    def published() -> np.ndarray:
        rows = new_shared(len(queries), 2, 10)
        rows[:, 0, :10] = 0.9 * exact_scores[:, ::-1]
        rows[:, 0, 10] = 1.0
        return rows

    docs, scores, scored = search_serial(*kernel, arrays, 10, *settings, scratch, published(), 1)
    assert (scored < scored_alone).any()  # the published scores made it skip
    rows = published()
    searcher = new_searcher(*kernel, index.vocab_size, scratch)
    for q in range(len(queries)):
        terms, weights = queries.row(q)
        problem, _, found, found_scores = search_single(
            searcher, terms, weights, 10, *settings, rows[q], 1
        )
        assert problem == 0
        np.testing.assert_array_equal(found, docs[q])
        np.testing.assert_array_equal(found_scores, scores[q])
        assert rows[q, 1, 10] > 0  # it published its own top-k for the others


@settings(deadline=None)  # the first example compiles the kernel
@given(
    st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 3.5]) | st.floats(0, 10, width=32)),
    st.integers(0, 25),
)
def test_heaviest_is_the_stable_sort_prefix(weights, n):
    # Few distinct values make ties common: the lower position must come first, as in the sort.
    weights = np.array(weights, dtype=np.float32)
    expected = np.argsort(-weights, kind="mergesort")[:n]
    assert heaviest(weights, n).tolist() == expected.tolist()
