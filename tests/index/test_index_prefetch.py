"""index/prefetch.py: the locality hint reaches the compiled code, and prefetching changes no result."""

import re

import numpy as np
import pytest
from lsr.index.forward import row_prefetch, side_by_side
from lsr.index.prefetch import EVERY_LEVEL, L2, prefetch_at, prefetch_range
from numba import njit
from numba.core.errors import TypingError


@njit
def _range_every_level(array, start, end):
    prefetch_range(array, start, end, EVERY_LEVEL)
    return array[start:end].sum()


@njit
def _range_l2(array, start, end):
    prefetch_range(array, start, end, L2)
    return array[start:end].sum()


@njit
def _at(array, position):
    prefetch_at(array, position)
    return array[position]


@njit
def _row(forward, d):
    row_prefetch(forward, d)
    return d


def _localities(function) -> set[int]:
    """The locality argument of every ``llvm.prefetch`` call in the code compiled for each of its
    signatures (each must prefetch)."""
    found = []
    for ir_text in function.inspect_llvm().values():
        calls = re.findall(r"@llvm\.prefetch\.p0\(ptr [^,]+, i32 0, i32 (\d), i32 1\)", ir_text)
        assert calls, "no prefetch compiled"
        found += calls
    return {int(c) for c in found}


def test_each_locality_is_the_one_asked_for():
    values = np.arange(1000, dtype=np.float32)
    assert _range_every_level(values, 3, 900) == values[3:900].sum()
    assert _range_l2(values, 3, 900) == values[3:900].sum()
    assert _at(values, 7) == 7.0
    assert _localities(_range_every_level) == {3}
    assert _localities(_range_l2) == {2}
    assert _localities(_at) == {3}


@pytest.mark.parametrize("start, end", [(0, 0), (5, 5), (0, 1), (10, 11), (3, 200)])
def test_any_range_is_safe(start, end):
    values = np.arange(200, dtype=np.uint16)
    assert _range_l2(values, start, end) == values[start:end].sum()


def test_rows_are_prefetched_into_l2():
    """A block's rows go to L2 (the module docstring's measurement), either forward layout."""
    indptr = np.array([0, 2, 5], dtype=np.int64)
    terms = np.array([1, 4, 0, 2, 3], dtype=np.uint16)
    values = np.array([10, 11, 12, 13, 14], dtype=np.uint16)
    assert _row((indptr, side_by_side(indptr, terms, values)), 1) == 1
    assert _row((indptr, terms, values), 0) == 0
    assert _localities(_row) == {2}


def test_a_locality_that_is_not_a_constant_is_refused():
    @njit
    def variable(array, locality):
        prefetch_range(array, 0, len(array), locality)

    with pytest.raises(TypingError, match="RequireLiteralValue"):
        variable(np.zeros(4, np.float32), 2)
