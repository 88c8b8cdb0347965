"""Per-query latency: what a user waits for one query, encoding and search apart.

Batch throughput hides the tail, so every query is timed on its own and the report gives the
mean, the median and the 99th percentile in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Latency:
    """Milliseconds per query."""

    mean_ms: float
    p50_ms: float
    p99_ms: float
    n: int

    @classmethod
    def from_seconds(cls, seconds: Sequence[float]) -> Latency:
        if len(seconds) == 0:
            return cls(0.0, 0.0, 0.0, 0)
        ms = np.asarray(seconds, dtype=np.float64) * 1000.0
        return cls(
            float(ms.mean()), float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), len(ms)
        )

    def to_json(self) -> dict[str, float]:
        return asdict(self)
