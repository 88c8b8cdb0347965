"""index.bitset: the packed layout the search kernels read (bit d & 63 of word d >> 6)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from lsr.index import bitset


@given(st.lists(st.booleans(), max_size=300))
def test_mask_round_trip_and_count(flags):
    mask = np.array(flags, dtype=bool)
    bits = bitset.from_mask(mask)
    assert bits.dtype == np.uint64 and len(bits) == bitset.words(len(mask))
    assert (bitset.to_mask(bits, len(mask)) == mask).all()
    assert bitset.count(bits) == mask.sum()


def test_layout_is_the_kernels():
    bits = bitset.from_positions(np.array([0, 63, 64, 130]), 131)
    assert bits.tolist() == [1 | (1 << 63), 1, 1 << 2]
