"""The in-memory vector contract: construction, canonical rows and validation messages."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lsr.errors import InputError, VectorFormatError
from lsr.vectors import SparseCollection, VectorMetadata, check_same_vocabulary

META = VectorMetadata(vocab_size=1_000_000)


def test_rows_are_sorted_and_zeros_dropped():
    c = SparseCollection.from_rows(["a", "b"], [([9, 2, 5], [1.0, 2.0, 0.0]), ([], [])], META)
    assert c.indptr.tolist() == [0, 2, 2]
    assert c.indices.tolist() == [2, 9]
    assert c.values.tolist() == [2.0, 1.0]
    assert c.indices.dtype == np.int32 and c.values.dtype == np.float32


def test_from_dicts_maps_tokens_through_the_vocabulary():
    meta = VectorMetadata(3, ("x", "y", "z"))
    c = SparseCollection.from_dicts(["q"], [{"z": 0.5, "x": 1.5}], meta)
    assert c.indices.tolist() == [0, 2]
    assert c.to_dict(0) == {"x": 1.5, "z": 0.5}


@pytest.mark.parametrize(
    ("ids", "rows", "message"),
    [
        (["a", "a"], [([1], [1.0]), ([2], [1.0])], "duplicate id 'a'"),
        ([7], [([1], [1.0])], "id at position 0 is int 7, expected a string"),
        (["a"], [([1], [float("nan")])], "vector 'a' has weight nan"),
        (["a"], [([1], [float("inf")])], "vector 'a' has weight inf"),
        (["a"], [([1], [-0.5])], "weights must be finite and non-negative"),
        (["a"], [([1_000_000], [1.0])], "term id 1000000, outside the vocabulary [0, 1000000)"),
        (["a"], [([-1], [1.0])], "term id -1, outside the vocabulary"),
        (["a", "b"], [([1], [1.0]), ([4, 3, 4], [1.0, 1.0, 2.0])], "vector 'b' repeats term id 4"),
        (["a"], [([1, 2], [1.0])], "vector 'a' has 2 term ids but 1 weights"),
        (["a", "b"], [([1], [1.0])], "2 ids but 1 vectors"),
    ],
)
def test_invalid_vectors_are_refused_with_a_clear_message(ids, rows, message):
    with pytest.raises(VectorFormatError, match=re.escape(message)):
        SparseCollection.from_rows(ids, rows, META)


def test_unknown_token_names_the_vector():
    with pytest.raises(VectorFormatError, match="vector 'q' has token 'w'"):
        SparseCollection.from_dicts(["q"], [{"w": 1.0}], VectorMetadata(1, ("x",)))


def test_metadata_checks_vocabulary_length():
    with pytest.raises(VectorFormatError, match="vocabulary has 2 tokens but vocab_size is 3"):
        VectorMetadata(3, ("a", "b"))
    with pytest.raises(VectorFormatError, match="vocab_size must be a positive integer"):
        VectorMetadata(0)


def test_slice_and_concat_are_inverse():
    c = SparseCollection.from_rows(
        ["a", "b", "c"], [([1], [1.0]), ([], []), ([3, 4], [0.5, 0.25])], META
    )
    back = SparseCollection.concat([c.slice(0, 1), c.slice(1, 3)])
    assert back.ids == c.ids
    np.testing.assert_array_equal(back.indptr, c.indptr)
    np.testing.assert_array_equal(back.indices, c.indices)
    np.testing.assert_array_equal(back.values, c.values)


def test_concat_refuses_duplicate_ids():
    c = SparseCollection.from_rows(["a"], [([1], [1.0])], META)
    with pytest.raises(VectorFormatError, match="duplicate id 'a'"):
        SparseCollection.concat([c, c])


vector = st.dictionaries(
    st.integers(0, 999_999), st.floats(0, 1e6, allow_nan=False, width=32), max_size=20
)


@given(st.lists(vector, max_size=20))
def test_canonical_rows_match_a_plain_python_reference(vectors):
    ids = [str(i) for i in range(len(vectors))]
    rows = [(list(v), list(v.values())) for v in vectors]
    c = SparseCollection.from_rows(ids, rows, META)
    for i, v in enumerate(vectors):
        expected = sorted((t, np.float32(w)) for t, w in v.items() if w > 0)
        term_ids, weights = c.row(i)
        assert list(zip(term_ids.tolist(), weights.tolist(), strict=True)) == expected


@given(st.lists(vector, max_size=20))
def test_canonical_rows_are_taken_as_from_rows_takes_them(vectors):
    ids = [str(i) for i in range(len(vectors))]
    rows = []
    for v in vectors:
        terms = sorted(t for t, w in v.items() if w > 0)
        rows.append((np.array(terms, np.int64), np.array([v[t] for t in terms], np.float32)))
    trusted = SparseCollection.from_canonical_rows(ids, rows, META)
    checked = SparseCollection.from_rows(ids, rows, META)
    for name in ("indptr", "indices", "values"):
        got, want = getattr(trusted, name), getattr(checked, name)
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_canonical_rows_still_refuse_a_weight_that_is_not_finite():
    rows = [(np.array([1]), np.array([0.5], np.float32)), (np.array([3]), np.array([np.nan]))]
    with pytest.raises(VectorFormatError, match="vector 'b' has weight nan"):
        SparseCollection.from_canonical_rows(["a", "b"], rows, META)


def test_check_same_vocabulary_names_both_fingerprints_and_models():
    docs = VectorMetadata(2, ("a", "b"), {"model": "splade-tiny", "encoder": "splade"})
    queries = VectorMetadata(2, ("b", "a"), {"encoder": "bm25"})
    check_same_vocabulary(docs.without_vocabulary(), docs)
    with pytest.raises(InputError) as error:
        check_same_vocabulary(queries, docs)
    message = str(error.value)
    for part in (
        queries.vocabulary_fingerprint,
        docs.vocabulary_fingerprint,
        "splade-tiny",
        "bm25",
    ):
        assert part in message


def test_metadata_equality_ignores_how_the_fingerprint_is_held():
    meta = VectorMetadata(2, ("a", "b"))
    assert meta == VectorMetadata(2, ("a", "b"), vocab_fingerprint=meta.vocabulary_fingerprint)
    assert meta.without_vocabulary() != VectorMetadata(2)
