"""Prometheus metrics of one app: requests by route and status, latency by stage.

Each app has its own registry (no module-level collectors), so that tests can create apps
side by side. With ``--workers N``, ``lsr serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
folder: every worker's values are then written there and ``/metrics`` sums them over workers,
whichever worker answers.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Seconds; from 0.1 ms (a search of a small index) to 10 s (the default request timeout).
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
)  # fmt: skip
STAGES = ("encode", "search", "total")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lsr_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lsr_search_latency_seconds",
            "Per query: encoding, searching (with text and explanations), and the whole request.",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        #: Queries searched by this process, and since when (for /stats).
        self.queries_served = 0
        self.started = time.monotonic()
        # The labelled series, looked up once: ``labels()`` takes a lock and builds a key per
        # call, four calls on every query's path.
        self._stage_latency = tuple(self.latency.labels(stage) for stage in STAGES)
        self._request_counts: dict[tuple[str, str, int], Any] = {}

    def count_request(self, route: str, method: str, status: int) -> None:
        """One request answered, by route template, method and status."""
        key = (route, method, status)
        series = self._request_counts.get(key)
        if series is None:
            series = self._request_counts[key] = self.requests.labels(route, method, str(status))
        series.inc()

    def observe(self, encode_ms: float, search_ms: float, total_ms: float) -> None:
        self.queries_served += 1
        for series, ms in zip(self._stage_latency, (encode_ms, search_ms, total_ms)):
            series.observe(ms / 1000)

    def exposition(self) -> bytes:
        """The text format of every worker's metrics (multi-process mode) or this app's."""
        if MULTIPROCESS_ENV in os.environ:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
