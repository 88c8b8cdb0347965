"""eval/sweep.py: the recall-latency frontier and the sweep grid."""

from __future__ import annotations

import pytest
from lsr.eval.latency import Latency
from lsr.eval.sweep import SweepPoint, check_swept, grid, pareto_frontier

from lsr.errors import InputError


def test_grid_is_the_product_in_order():
    assert grid({"query_cut": [3, 5], "heap_factor": [0.8]}) == [
        {"query_cut": 3, "heap_factor": 0.8},
        {"query_cut": 5, "heap_factor": 0.8},
    ]


def test_pareto_frontier_keeps_settings_nothing_beats():
    def point(ms, accuracy):
        return SweepPoint("m", "d", {}, accuracy, 0.0, Latency(ms, ms, ms, 1))

    points = [point(3.0, 0.99), point(1.0, 0.90), point(2.0, 0.85), point(2.5, 0.95)]
    frontier = pareto_frontier(points)
    assert [(p.latency.mean_ms, p.accuracy_at_10) for p in frontier] == [
        (1.0, 0.90),
        (2.5, 0.95),
        (3.0, 0.99),
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [("n_postings", "n_postings is a build parameter"), ("cut", "unknown search parameter")],
)
def test_only_search_parameters_can_be_swept(name, message):
    with pytest.raises(InputError, match=f"--sweep {name}: {message}"):
        check_swept(["query_cut", name])


def test_search_parameters_can_be_swept():
    check_swept(["query_cut", "heap_factor", "first_sorted", "n_knn"])
