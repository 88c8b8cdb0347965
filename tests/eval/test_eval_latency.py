"""eval/latency.py: per-query latency summaries."""

from __future__ import annotations

import pytest
from lsr.eval.latency import Latency


def test_latency_is_reported_in_milliseconds():
    latency = Latency.from_seconds([0.001] * 99 + [0.101])
    assert latency.mean_ms == pytest.approx(2.0)
    assert latency.p50_ms == pytest.approx(1.0)
    assert latency.n == 100


def test_p99_sees_the_tail():
    latency = Latency.from_seconds([0.001] * 98 + [0.5, 0.5])
    assert latency.p99_ms == pytest.approx(500.0)


def test_no_queries_give_zeros():
    assert Latency.from_seconds([]) == Latency(0.0, 0.0, 0.0, 0)
