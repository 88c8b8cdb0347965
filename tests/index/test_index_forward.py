"""The forward index: compact types and the dot-product kernel."""

from __future__ import annotations

import numpy as np
import pytest
from index_data import dense, random_collection

from index.forward import HALF_TABLE, ForwardIndex, dot_dense
from lsr.errors import InputError
from lsr.vectors import SparseCollection, VectorMetadata


def test_float16_storage_round_trips_through_the_table():
    collection = random_collection(30, seed=1)
    forward = ForwardIndex.from_collection(collection, "float16")
    assert forward.values.dtype == np.uint16
    expected = collection.values.astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(HALF_TABLE[forward.values], expected)
    np.testing.assert_array_equal(forward.float_values(), expected)


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
            HALF_TABLE,
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
