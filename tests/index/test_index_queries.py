"""index/queries.py: one query validated and made canonical, and the errors for bad ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsr.index.queries import query_arrays, single_query

from lsr.errors import InputError


@settings(max_examples=80, deadline=None)
@given(
    entries=st.dictionaries(
        st.integers(0, 99), st.floats(0, 1e6, allow_nan=False, width=32), max_size=30
    ),
    term_dtype=st.sampled_from([np.int32, np.int64, np.uint16]),
    weight_dtype=st.sampled_from([np.float32, np.float64]),
)
def test_query_is_sorted_with_zeros_dropped(entries, term_dtype, weight_dtype):
    terms = np.array(list(entries), dtype=term_dtype)
    weights = np.array(list(entries.values()), dtype=weight_dtype)
    indptr, got_terms, got_weights = single_query(terms, weights, 100)
    expected = sorted((t, np.float32(w)) for t, w in entries.items() if np.float32(w) > 0)
    assert indptr.tolist() == [0, len(expected)]
    assert got_terms.dtype == np.int32 and got_weights.dtype == np.float32
    assert got_terms.tolist() == [t for t, _ in expected]
    assert got_weights.tolist() == [w for _, w in expected]


@pytest.mark.parametrize(
    ("terms", "weights", "message"),
    [
        ([1, 100], [1.0, 1.0], "term id 100 is outside the vocabulary"),
        ([-1], [1.0], "term id -1 is outside the vocabulary"),
        ([3, 1, 3], [1.0, 1.0, 2.0], "term id 3 is repeated"),
        ([1], [-0.5], "finite and non-negative"),
        ([1], [np.nan], "finite and non-negative"),
        ([1], [np.inf], "finite and non-negative"),
        ([1], [1e39], "finite and non-negative"),  # overflows float32
        ([1.5], [1.0], "term ids must be integers"),
        ([1], ["a"], "weights must be numbers"),
        # np.issubdtype's verdicts, now read from the dtype's kind: booleans are not integers,
        # complex numbers not weights.
        ([True], [1.0], "term ids must be integers"),
        ([1], [1 + 0j], "weights must be numbers"),
        ([1], [True], "weights must be numbers"),
        ([1, 2], [1.0], "equally long"),
        ([[1]], [[1.0]], "1-d"),
    ],
)
def test_bad_query_is_refused_with_its_reason(terms, weights, message):
    with pytest.raises(InputError, match=message):
        single_query(np.array(terms), np.array(weights), 100)


def test_a_zero_weight_repeat_is_not_a_repeat():
    _, terms, weights = single_query(np.array([5, 5]), np.array([0.0, 2.0]), 10)
    assert terms.tolist() == [5] and weights.tolist() == [2.0]


@pytest.mark.parametrize("term_dtype", [np.int32, np.int64, np.uint16, np.uint64])
def test_bad_ids_are_named_in_any_integer_dtype(term_dtype):
    with pytest.raises(InputError, match="term id 100 is outside the vocabulary"):
        single_query(np.array([1, 100], dtype=term_dtype), np.ones(2), 100)
    with pytest.raises(InputError, match="term id 3 is repeated"):
        single_query(np.array([3, 1, 3], dtype=term_dtype), np.ones(3), 100)


def test_int32_and_int64_ids_reach_the_kernel_uncopied_and_others_widened():
    weights = np.ones(2, np.float32)
    for dtype in (np.int32, np.int64):
        terms = np.array([4, 2], dtype=dtype)
        assert query_arrays(terms, weights)[0] is terms
    widened = query_arrays(np.array([4, 2], dtype=np.uint16), weights)[0]
    assert widened.dtype == np.int64 and widened.tolist() == [4, 2]
