"""Summaries: energy-cut coordinate-wise maxima, uint8 quantization, term-major scoring."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from index_data import dense, random_collection
from lsr.index.config import BuildConfig
from lsr.index.forward import ForwardIndex
from lsr.index.seismic import SeismicIndex
from lsr.index.summary import (
    GROUP_BLOCKS,
    MASK_BLOCKS,
    block_summary,
    build_summaries,
    energy_cut,
    quantize,
    score_summaries,
)

from lsr.vectors import SparseCollection


def reference_summary(matrix, docs, energy):
    """Plain numpy: coordinate-wise max, then the shortest by-value prefix reaching ``energy``
    (sums in float32, by decreasing value, as the index computes them)."""
    maximum = matrix[docs].max(axis=0).astype(np.float32)
    order = sorted(np.flatnonzero(maximum), key=lambda t: (-maximum[t], t))
    total = np.float32(0.0)
    for t in order:
        total += maximum[t]
    acc, kept = np.float32(0.0), []
    for t in order:
        kept.append(t)
        acc += maximum[t]
        if acc >= total * np.float32(energy):
            break
    return np.sort(kept), maximum


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), size=st.integers(1, 8), energy=st.floats(0.05, 1.0))
def test_block_summary_matches_numpy(seed, size, energy):
    collection = random_collection(10, vocab_size=30, mean_nnz=6, seed=seed)
    forward = ForwardIndex.from_collection(collection, "float32")
    docs = np.random.default_rng(seed).choice(10, size=size, replace=False)
    best = np.full(30, -1.0, np.float32)
    touched = np.empty(forward.nnz, np.int64)
    terms, weights = block_summary(
        docs, forward.indptr, forward.terms, forward.values, energy, best, touched
    )
    expected_terms, maximum = reference_summary(dense(collection), docs, energy)
    # The boundary entry may differ by float32 rounding of the running sums; nothing else.
    assert len(set(terms.tolist()) ^ set(expected_terms.tolist())) <= 1
    np.testing.assert_array_equal(weights, maximum[terms])
    assert (best == -1.0).all()


def test_energy_cut_keeps_the_crossing_entry():
    weights = np.array([2.0, 4.0, 1.0, 3.0], np.float32)  # total 10
    assert energy_cut(weights, 0.4).tolist() == [1]  # 4 >= 4
    assert sorted(energy_cut(weights, 0.41).tolist()) == [1, 3]  # 4 < 4.1, 4 + 3 >= 4.1
    assert sorted(energy_cut(weights, 1.0).tolist()) == [0, 1, 2, 3]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.25, 100.0, width=32), min_size=1, max_size=300),
    st.floats(0.01, 1.0),
)
def test_energy_cut_is_the_shortest_prefix_by_value(values, energy):
    weights = np.array(values, np.float32)
    kept = energy_cut(weights, energy)
    dropped = np.setdiff1d(np.arange(len(weights)), kept)
    assert len(set(kept.tolist())) == len(kept)
    if len(dropped):
        assert weights[kept].min() >= weights[dropped].max()
    total = float(weights.astype(np.float64).sum())
    kept_sum = float(weights[kept].astype(np.float64).sum())
    assert kept_sum >= energy * total * (1 - 1e-5)
    assert kept_sum - float(weights[kept].min()) < energy * total * (1 + 1e-5)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.25, 100.0, width=32), min_size=1, max_size=50))
def test_quantization_error_is_at_most_half_a_step(values):
    values = np.array(values, np.float32)
    codes, low, scale = quantize(values)
    assert low == values.min()
    assert scale == pytest.approx((values.max() - values.min()) / 255, rel=1e-6)
    restored = codes.astype(np.float32) * scale + low
    assert np.all(np.abs(restored - values) <= scale / 2 * 1.001 + 1e-6)


def test_quantization_of_equal_values_is_exact():
    codes, low, scale = quantize(np.array([2.5, 2.5], np.float32))
    assert codes.tolist() == [0, 0] and low == 2.5 and scale == 0


@pytest.fixture(scope="module")
def index():
    collection = random_collection(300, vocab_size=60, mean_nnz=10, seed=7)
    return SeismicIndex.build(collection, BuildConfig(centroid_fraction=0.2, value_dtype="float32"))


def dequantized_summaries(index, t):
    """Dense [blocks, vocab] matrix of list ``t``'s summaries, decoded with numpy."""
    s, p = index.summaries, index.postings
    b0, b1 = p.list_block_ptr[t], p.list_block_ptr[t + 1]
    matrix = np.zeros((b1 - b0, index.vocab_size), np.float32)
    terms, blocks, codes = s.list_entries(t, b1 - b0)
    for term, b, code in zip(terms, blocks, codes):
        value = np.float32(code) * s.block_scale[b0 + b] + s.block_min[b0 + b]
        matrix[b, term] = value
    return matrix


def assert_scores_equal_dense_product(index, terms):
    rng = np.random.default_rng(0)
    # Term 0 always, so that its long runs in the wide index are scored too.
    others = rng.choice(np.arange(1, index.vocab_size), size=11, replace=False)
    q_terms = np.sort(np.append(others, 0)).astype(np.int32)
    q_weights = rng.random(12).astype(np.float32)
    query = np.zeros(index.vocab_size, np.float32)
    query[q_terms] = q_weights
    p = index.postings
    for t in terms:
        b0, b1 = p.list_block_ptr[t], p.list_block_ptr[t + 1]
        out = np.empty(b1 - b0, np.float32)
        score_summaries(index.summaries.kernel_arrays(), t, b0, b1, q_terms, q_weights, out)
        np.testing.assert_allclose(out, dequantized_summaries(index, t) @ query, rtol=1e-5)


def test_score_summaries_equals_dense_product(index):
    assert_scores_equal_dense_product(index, range(5))


@pytest.fixture(scope="module")
def wide_index():
    """Term 0 is in every document and summaries keep every term, so list 0 has more than
    GROUP_BLOCKS blocks (two groups) whose summaries all hold term 0."""
    collection = random_collection(3000, vocab_size=2000, mean_nnz=8, seed=11)
    rows = []
    for _, terms, weights in collection.rows():
        keep = terms != 0
        rows.append(([0, *terms[keep].tolist()], [0.01, *weights[keep].tolist()]))
    with_term0 = SparseCollection.from_rows(collection.ids, rows, collection.metadata)
    config = BuildConfig(
        centroid_fraction=0.2, min_cluster_size=0, summary_energy=1.0, value_dtype="float32"
    )
    return SeismicIndex.build(with_term0, config)


def test_groups_decode_and_score(wide_index):
    s, p = wide_index.summaries, wide_index.postings
    n_blocks = p.list_block_ptr[1] - p.list_block_ptr[0]
    assert n_blocks > GROUP_BLOCKS and s.list_group_ptr[1] - s.list_group_ptr[0] == 2
    terms, blocks, _ = s.list_entries(0, n_blocks)
    assert sorted(blocks[terms == 0].tolist()) == list(range(n_blocks))
    assert_scores_equal_dense_product(wide_index, range(50))


def test_both_directory_layouts_are_used(wide_index):
    """Long lists' groups hold most of the vocabulary (a bitmap is smaller), short ones a few
    terms (their ids are): each group is scored through the one it has."""
    s = wide_index.summaries
    dense = np.diff(s.group_words_ptr.astype(np.int64)) > 0
    sparse = np.diff(s.group_terms_ptr.astype(np.int64)) > 0
    assert dense.any() and sparse.any() and not (dense & sparse).any()
    for g in np.flatnonzero(dense)[:3]:
        terms = s.group_terms(int(g))
        assert len(terms) == s.group_comp_ptr[g + 1] - s.group_comp_ptr[g]
        assert (np.diff(terms) > 0).all()


@pytest.mark.parametrize(("array", "value"), [("word_comp", 60000), ("group_word0", 40)])
def test_damaged_dense_directory_stays_inside_the_arrays(wide_index, array, value):
    """A damaged rank or first word misdirects scores only (the kernel bounds the rank to its
    group)."""
    s = wide_index.summaries
    damaged = getattr(s, array).copy()
    damaged[: len(damaged) // 2] = value
    summaries = dataclasses.replace(s, **{array: damaged}).kernel_arrays()
    p = wide_index.postings
    q_terms = np.arange(0, 2000, 7, dtype=np.int32)
    q_weights = np.ones(len(q_terms), np.float32)
    for t in range(20):
        b0, b1 = p.list_block_ptr[t], p.list_block_ptr[t + 1]
        out = np.empty(b1 - b0, np.float32)
        score_summaries(summaries, t, b0, b1, q_terms, q_weights, out)
        assert np.isfinite(out).all()


def test_summaries_approximate_the_block_maxima(index):
    matrix = dense(index.forward.to_collection(list(index.doc_ids), index.metadata))
    p = index.postings
    t = 0
    summaries = dequantized_summaries(index, t)
    for b in range(p.list_block_ptr[t], p.list_block_ptr[t + 1]):
        docs = p.post_docs[p.block_ptr[b] : p.block_ptr[b + 1]].astype(np.int64)
        kept, maximum = reference_summary(matrix, docs, index.config.summary_energy)
        row = summaries[b - p.list_block_ptr[t]]
        step = index.summaries.block_scale[b]
        assert set(np.flatnonzero(row)) == set(kept)
        np.testing.assert_allclose(row[kept], maximum[kept], atol=step / 2 + 1e-6)


def test_exactly_sized_build_equals_the_reserved_one(wide_index):
    """The fallback for systems that refuse the reservation gives the same arrays."""
    reserved = wide_index.summaries
    exact = build_summaries(wide_index.forward, wide_index.postings, 1.0, reserve=False)
    for name, array in reserved.stored().items():
        np.testing.assert_array_equal(getattr(exact, name), array, err_msg=name)


def test_masked_groups_score_as_counted_ones(wide_index):
    """Groups of at most MASK_BLOCKS blocks hold masks instead of counts and block numbers:
    the same entries decode and score to the same bits as with none masked."""
    masked = wide_index.summaries
    forward, p = wide_index.forward.to_two_arrays(), wide_index.postings
    counted = build_summaries(forward, p, 1.0, mask_blocks=0)
    n_blocks = np.diff(p.list_block_ptr.astype(np.int64))
    assert masked.mask_blocks == MASK_BLOCKS and counted.mask_blocks == 0
    assert (n_blocks[n_blocks > 0] <= MASK_BLOCKS).any() and (n_blocks > MASK_BLOCKS).any()
    assert len(masked.entry_block) < len(counted.entry_block) == counted.n_entries
    q_terms = np.arange(0, 2000, 3, dtype=np.int32)
    q_weights = np.random.default_rng(1).random(len(q_terms)).astype(np.float32)
    for t in np.flatnonzero(n_blocks)[:400]:
        b0, b1 = p.list_block_ptr[t], p.list_block_ptr[t + 1]
        for got, want in zip(masked.list_entries(t, b1 - b0), counted.list_entries(t, b1 - b0)):
            np.testing.assert_array_equal(got, want)
        scores = []
        for summaries in (masked, counted):
            scores.append(np.empty(b1 - b0, np.float32))
            score_summaries(summaries.kernel_arrays(), t, b0, b1, q_terms, q_weights, scores[-1])
        np.testing.assert_array_equal(scores[0], scores[1])
