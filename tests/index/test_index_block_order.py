"""index.block_order: the heap that yields a query's blocks by decreasing summary score."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from lsr.index.block_order import heap_of, pop_best

# Few distinct values, so that ties are common; both zeros and both infinities among them.
scores = st.sampled_from([0.0, -0.0, 1.5, 1.5000001, -2.0, 3.25, np.inf, -np.inf, 1e-30])


def popped(values: np.ndarray) -> list[int]:
    keys = heap_of(values)
    size, order = len(keys), []
    while size > 0:
        place, size = pop_best(keys, size)
        order.append(place)
    return order


@settings(max_examples=200, deadline=None)
@given(st.lists(scores, max_size=60))
def test_places_come_by_decreasing_score_ties_by_place(values):
    """The plain rule: a stable sort of the places by decreasing score."""
    values = np.asarray(values, np.float32)
    expected = sorted(range(len(values)), key=lambda i: -float(values[i]))
    assert popped(values) == expected


def test_negative_zero_ties_with_zero():
    assert popped(np.array([-0.0, 0.0, -0.0], np.float32)) == [0, 1, 2]
