"""What routes receive by injection (FastAPI dependencies): the settings, the serving state,
the thread pools and the metrics of their app; no module-level globals.

The functions are ``async`` although they never wait: FastAPI runs a plain ``def`` dependency in
a worker thread, which would cost a thread round trip per dependency and request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from lsr.service.metrics import Metrics
from lsr.service.settings import Settings
from lsr.service.state import ServingState, StateHolder
from lsr.service.workers import Workers


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_holder(request: Request) -> StateHolder:
    return request.app.state.holder


async def get_workers(request: Request) -> Workers:
    return request.app.state.workers


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_serving(holder: Annotated[StateHolder, Depends(get_holder)]) -> ServingState:
    return serving(holder)


def serving(holder: StateHolder) -> ServingState:
    """The current index and encoder; 503 while the first load is still running (or failed)."""
    state = holder.current
    if state is None:
        detail = f"the index failed to load: {holder.error}" if holder.error else "loading"
        raise HTTPException(503, detail)
    return state


SettingsDep = Annotated[Settings, Depends(get_settings)]
HolderDep = Annotated[StateHolder, Depends(get_holder)]
WorkersDep = Annotated[Workers, Depends(get_workers)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ServingDep = Annotated[ServingState, Depends(get_serving)]
