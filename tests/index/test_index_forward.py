"""The forward index: compact types and the dot-product kernel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from index_data import dense, random_collection
from lsr.index import simd
from lsr.index.forward import ForwardIndex, dot_dense, half_to_float, load_forward, row_dot
from lsr.index.simd import dot_lanes_gather, dot_lanes_insert
from numba import njit

from lsr.errors import InputError
from lsr.vectors import SparseCollection, VectorMetadata


def test_float16_storage_round_trips():
    collection = random_collection(30, seed=1)
    forward = ForwardIndex.from_collection(collection, "float16")
    assert forward.values.dtype == np.uint16
    expected = collection.values.astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(forward.float_values(), expected)


@njit
def _convert_all(bits):
    out = np.empty(len(bits), dtype=np.float32)
    for i in range(len(bits)):
        out[i] = half_to_float(bits[i])
    return out


def test_half_to_float_is_exact_for_every_non_negative_float16():
    bits = np.arange(1 << 15, dtype=np.uint16)  # sign bit clear: zero, subnormals, normals, inf
    finite = np.isfinite(bits.view(np.float16))
    expected = bits.view(np.float16).astype(np.float32)
    np.testing.assert_array_equal(_convert_all(bits)[finite], expected[finite])


def test_term_ids_are_uint16_for_bert_sized_vocabularies():
    small = ForwardIndex.from_collection(random_collection(5, vocab_size=30_522), "float32")
    assert small.terms.dtype == np.uint16
    rows = [([70_000], [1.0])]
    large = SparseCollection.from_rows(["d"], rows, VectorMetadata(100_000))
    assert ForwardIndex.from_collection(large, "float32").terms.dtype == np.int32


def test_dot_product_matches_numpy():
    collection = random_collection(20, seed=2)
    forward = ForwardIndex.from_collection(collection, "float32")
    query = np.random.default_rng(0).random(collection.vocab_size).astype(np.float32)
    expected = dense(collection) @ query
    for d in range(len(collection)):
        got = dot_dense(
            forward.terms,
            forward.values,
            forward.indptr[d],
            forward.indptr[d + 1],
            query,
        )
        assert got == pytest.approx(expected[d], rel=1e-5)


def test_to_collection_gives_back_the_stored_vectors():
    collection = random_collection(10, seed=3)
    forward = ForwardIndex.from_collection(collection, "float32")
    back = forward.to_collection(collection.ids, collection.metadata)
    np.testing.assert_array_equal(back.indices, collection.indices)
    np.testing.assert_array_equal(back.values, collection.values)


def test_float16_overflow_is_refused():
    collection = SparseCollection.from_rows(["d"], [([1], [1e6])], VectorMetadata(5))
    with pytest.raises(InputError, match="overflows float16"):
        ForwardIndex.from_collection(collection, "float16")


def test_unknown_value_dtype_is_refused():
    with pytest.raises(InputError, match="value_dtype"):
        ForwardIndex.from_collection(random_collection(3), "int8")


def lane_order_reference(query, terms, weights):
    """The documented summation order, in plain numpy float32 scalars: entry ``p`` added to
    lane ``p % 8``, the eight lanes summed pairwise."""
    lanes = [np.float32(0.0)] * 8
    for p in range(len(terms)):
        lanes[p % 8] = np.float32(lanes[p % 8] + np.float32(query[terms[p]] * weights[p]))
    while len(lanes) > 1:
        lanes = [np.float32(lanes[i] + lanes[i + 1]) for i in range(0, len(lanes), 2)]
    return lanes[0]


def random_row(seed, n, term_type, value_dtype):
    """A row of ``n`` distinct term ids with log-normal weights (``stored`` as the index keeps
    them: float16 bits or float32; ``weights`` their float32 values) and a dense query hitting
    ~30% of the vocabulary."""
    rng = np.random.default_rng(seed)
    vocab = 70_000 if term_type == np.int32 else 1000
    terms = rng.choice(vocab, size=n, replace=False).astype(term_type)
    weights = rng.lognormal(0, 1.5, size=n).astype(np.float32)
    if value_dtype == "float16":
        weights = weights.astype(np.float16).astype(np.float32)
        stored = weights.astype(np.float16).view(np.uint16)
    else:
        stored = weights
    query = np.zeros(vocab, np.float32)
    hit = rng.random(vocab) < 0.3
    query[hit] = rng.random(int(hit.sum())).astype(np.float32)
    return terms, stored, weights, query


@settings(max_examples=60, deadline=None)
@given(
    n_entries=st.integers(0, 40),
    offset=st.integers(0, 9),
    term_type=st.sampled_from([np.uint16, np.int32]),
    value_dtype=st.sampled_from(["float16", "float32"]),
    seed=st.integers(0, 2**16),
)
def test_dot_product_follows_the_lane_order_bit_for_bit(
    n_entries, offset, term_type, value_dtype, seed
):
    terms, stored, weights, query = random_row(seed, offset + n_entries, term_type, value_dtype)
    got = dot_dense(terms, stored, offset, offset + n_entries, query)
    expected = lane_order_reference(query, terms[offset:], weights[offset:])
    assert got == expected


@njit
def _dot_insert(terms, values, start, stop, query, shift):
    return dot_lanes_insert(terms, values, start, stop, query, shift)


@njit
def _dot_gather(terms, values, start, stop, query, shift):
    return dot_lanes_gather(terms, values, start, stop, query, shift)


HOST_AVX2 = "+avx2" in simd._target_cpu()[1].split(",")
LOADS = [
    pytest.param(_dot_insert, id="insert"),
    pytest.param(
        _dot_gather,
        id="gather",
        marks=pytest.mark.skipif(not HOST_AVX2, reason="gathers need AVX2 on this CPU"),
    ),
]


@pytest.mark.parametrize("dot", LOADS)
@settings(max_examples=60, deadline=None)
@given(
    n_entries=st.integers(0, 50),
    offset=st.integers(0, 9),
    after=st.integers(0, 9),
    term_type=st.sampled_from([np.uint16, np.int32]),
    value_dtype=st.sampled_from(["float16", "float32"]),
    seed=st.integers(0, 2**16),
)
def test_either_lane_load_gives_the_lane_order_bit_for_bit(
    dot, n_entries, offset, after, term_type, value_dtype, seed
):
    """Both ways of loading the query's lanes, whichever the host picks for ``dot_dense``, the
    last partial group included: with ``after`` entries beyond the row, of ids outside the
    query and NaN weights, which the lanes past the row's end must not read into the sum (and
    with none, where a whole vector would overrun the arrays)."""
    terms, stored, weights, query = random_row(seed, offset + n_entries, term_type, value_dtype)
    expected = lane_order_reference(query, terms[offset:], weights[offset:])
    nan = np.array(np.nan, stored.dtype) if value_dtype == "float32" else np.uint16(0x7E00)
    terms = np.concatenate([terms, np.full(after, np.iinfo(term_type).max, term_type)])
    stored = np.concatenate([stored, np.full(after, nan, stored.dtype)])
    end = offset + n_entries
    assert dot(terms, stored, offset, end, query, 0) == expected
    # The weights 3 entries further on (one array holding ids and weights reads them so).
    shifted = np.concatenate([np.zeros(3, stored.dtype), stored])
    assert dot(terms, shifted, offset, end, query, 3) == expected


@pytest.mark.parametrize(
    ("forced", "cpu", "expected"),
    [
        ("auto", ("rocketlake", "+avx2,+fma"), "gather"),
        ("auto", ("znver5", "+avx2,+fma"), "insert"),
        ("auto", ("nehalem", "-avx2,+sse4.2"), "insert"),
        ("insert", ("rocketlake", "+avx2"), "insert"),
        ("gather", ("znver5", "+avx2"), "gather"),
    ],
)
def test_lane_loads_follow_the_cpu_unless_forced(monkeypatch, forced, cpu, expected):
    monkeypatch.setenv(simd.LANE_LOADS_ENV, forced)
    monkeypatch.setattr(simd, "_target_cpu", lambda: cpu)
    simd.lane_loads.cache_clear()
    try:
        assert simd.lane_loads() == expected
    finally:
        simd.lane_loads.cache_clear()


@pytest.mark.parametrize(
    ("forced", "cpu", "message"),
    [("vector", ("rocketlake", "+avx2"), "auto, insert or gather"),
     ("gather", ("nehalem", "-avx2"), "needs AVX2")],
)  # fmt: skip
def test_a_wrong_lane_load_setting_is_refused(monkeypatch, forced, cpu, message):
    monkeypatch.setenv(simd.LANE_LOADS_ENV, forced)
    monkeypatch.setattr(simd, "_target_cpu", lambda: cpu)
    simd.lane_loads.cache_clear()
    try:
        with pytest.raises(InputError, match=message):
            simd.lane_loads()
    finally:
        simd.lane_loads.cache_clear()


@njit(cache=True)
def _row_scores(forward, query):
    """:func:`row_dot` of every row (what search calls), for the layout ``forward`` has."""
    return np.array([row_dot(forward, d, query) for d in range(len(forward[0]) - 1)])


@pytest.mark.parametrize("value_dtype", ["float16", "float32"])
def test_search_arrays_lay_each_rows_ids_then_weights_side_by_side_when_both_are_two_bytes(
    value_dtype,
):
    forward = ForwardIndex.from_collection(random_collection(60, seed=5), value_dtype)
    arrays = forward.search_arrays()
    if value_dtype == "float32":  # 4-byte weights: the two arrays as stored
        assert arrays == (forward.indptr, forward.terms, forward.values)
        return
    indptr, rows = arrays
    assert rows.dtype == np.uint16 and len(rows) == 2 * forward.nnz
    for d in range(len(forward)):
        lo, hi = indptr[d], indptr[d + 1]
        assert rows[2 * lo : lo + hi].tolist() == forward.terms[lo:hi].tolist()
        assert rows[lo + hi : 2 * hi].tolist() == forward.values[lo:hi].tolist()


def test_row_dot_gives_dot_dense_bits_in_both_layouts():
    forward = ForwardIndex.from_collection(random_collection(80, mean_nnz=30, seed=6))
    query = np.random.default_rng(7).random(forward.vocab_size).astype(np.float32)
    expected = [
        dot_dense(forward.terms, forward.values, forward.indptr[d], forward.indptr[d + 1], query)
        for d in range(len(forward))
    ]
    two_arrays = (forward.indptr, forward.terms, forward.values)
    assert _row_scores(two_arrays, query).tolist() == expected
    assert _row_scores(forward.search_arrays(), query).tolist() == expected


FORWARD = ForwardIndex.from_collection(random_collection(120, mean_nnz=20, seed=8))


def test_rows_side_by_side_and_back_are_the_two_arrays_again():
    laid = FORWARD.to_side_by_side()
    assert laid.layout == "side_by_side" and laid.nbytes == FORWARD.nbytes
    back = laid.to_two_arrays()
    for name, array in FORWARD.stored().items():
        np.testing.assert_array_equal(back.stored()[name], array)
        assert back.stored()[name].dtype == array.dtype


def test_other_widths_keep_the_two_arrays():
    wide = ForwardIndex.from_collection(random_collection(20, seed=9), "float32")
    assert wide.to_side_by_side() is wide
    assert wide.search_arrays() == wide.kernel_arrays()


@settings(max_examples=30, deadline=None)
@given(positions=st.lists(st.integers(0, len(FORWARD) - 1), max_size=40))
def test_rows_at_gives_the_stored_rows_in_either_layout(positions):
    """Each position's ids and float32 weights, read from the two arrays with numpy."""
    expected = [
        (FORWARD.terms[lo:hi], FORWARD.float_values(lo, hi))
        for lo, hi in ((FORWARD.indptr[d], FORWARD.indptr[d + 1]) for d in positions)
    ]
    for forward in (FORWARD, FORWARD.to_side_by_side()):
        indptr, terms, values = forward.rows_at(np.array(positions, dtype=np.int64))
        assert terms.dtype == np.int32 and values.dtype == np.float32
        assert np.diff(indptr).tolist() == [len(t) for t, _ in expected]
        for i, (want_terms, want_values) in enumerate(expected):
            np.testing.assert_array_equal(terms[indptr[i] : indptr[i + 1]], want_terms)
            np.testing.assert_array_equal(values[indptr[i] : indptr[i + 1]], want_values)


def test_documents_collections_and_term_ranges_agree_between_layouts():
    laid = FORWARD.to_side_by_side()
    for d in (0, 7, len(FORWARD) - 1):
        for got, want in zip(laid.document(d), FORWARD.document(d), strict=True):
            np.testing.assert_array_equal(got, want)
    assert laid.term_range() == FORWARD.term_range() == (FORWARD.terms.min(), FORWARD.terms.max())
    collection = random_collection(120, mean_nnz=20, seed=8)
    back = laid.to_collection(collection.ids, collection.metadata)
    np.testing.assert_array_equal(back.indices, collection.indices)
    np.testing.assert_array_equal(back.values, FORWARD.float_values())


def test_an_unknown_layout_is_refused_by_name():
    with pytest.raises(InputError, match=r"forward_layout must be one of .*; got 'diagonal'"):
        load_forward({}, "diagonal", "float16", 10)
