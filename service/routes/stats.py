"""``GET /stats`` (what is served, for people) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

import os
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from lsr.service.dependencies import MetricsDep, ServingDep
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter(tags=["stats"])


@router.get("/stats")
async def stats(state: ServingDep, metrics: MetricsDep) -> dict[str, Any]:
    """Documents, index bytes, parameters, model, uptime and queries served (by this worker
    process: `/metrics` sums over workers)."""
    return {
        **state.describe(),
        "loaded_s_ago": round(time.time() - state.loaded_at, 1),
        "uptime_s": round(time.monotonic() - metrics.started, 1),
        "queries_served": metrics.queries_served,
        "pid": os.getpid(),
    }


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
)
async def prometheus(metrics: MetricsDep) -> Response:
    """Request counts by route and status; latency histograms of encode, search and total."""
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
