"""The app factory: ``create_app(settings)`` wires the routers, the middleware and the state.

Loading the index and the encoder (seconds for a model) starts in a background thread when the
app starts, so ``/healthz`` answers at once and ``/readyz`` answers 503 until the first index is
loaded and warmed up; search routes answer 503 until then too. Everything a route needs lives on
``app.state`` and reaches it by dependency injection (:mod:`service.dependencies`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from importlib.metadata import version

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from lsr.index.open import open_index
from lsr.service.metrics import Metrics
from lsr.service.middleware import KEY_HEADER, Guard
from lsr.service.routes import admin, documents, health, page, search, stats
from lsr.service.search import RequestError, warm_up
from lsr.service.settings import Settings
from lsr.service.state import Opener, StateHolder, load_state
from lsr.service.workers import Workers

from lsr.errors import LsrError
from lsr.threads import use_torch_threads

logger = logging.getLogger("lsr.service")

DESCRIPTION = """Search a learned sparse retrieval index (SPLADE, inference-free or BM25) over
HTTP. Send the API key, when the service has one, in the `X-API-Key` header."""


#: Answers any route can give besides its own (documented in the OpenAPI of every route).
COMMON_RESPONSES = {
    400: {"description": "The body is not valid JSON text (e.g. not UTF-8)."},
    401: {"description": "The service has an API key and `X-API-Key` is missing or wrong."},
    413: {"description": "The body is larger than the service accepts."},
    503: {"description": "The index is still loading (or failed to load: see /readyz)."},
    504: {"description": "The request took longer than the service's timeout."},
}


NO_TELEMETRY = {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings, opener: Opener = open_index) -> FastAPI:
    """A FastAPI app serving ``settings.index_dir`` (opened, and reopened by /admin/reload, by
    ``opener``)."""
    holder = StateHolder()
    workers = Workers(settings.search_threads, settings.encode_threads)
    if settings.in_memory:
        opener = partial(opener, mmap=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=_load, args=(settings, holder, opener), daemon=True).start()
        yield
        workers.shutdown()

    app = FastAPI(
        title="lsr",
        version=version("lsr"),
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=COMMON_RESPONSES,
        # FastAPI's OpenTelemetry instrumentation asks the global providers on every request
        # whether any is configured; lsr configures none (its metrics are /metrics').
        telemetry=NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.holder = holder
    app.state.opener = opener
    app.state.workers = workers
    app.state.metrics = Metrics()
    for module in (search, documents, health, stats, admin, page):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=page.STATIC), name="static")
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(LsrError, _lsr_error)
    app.add_middleware(Guard, settings=settings, metrics=app.state.metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", KEY_HEADER.decode()],
        )
    return app


def app_from_environment() -> FastAPI:
    """The app of a uvicorn worker process started by ``lsr serve`` (settings from the
    environment, see :meth:`Settings.from_environment`)."""
    return create_app(Settings.from_environment())


def _load(settings: Settings, holder: StateHolder, opener: Opener) -> None:
    try:
        if not settings.vectors_only:
            use_torch_threads(settings.torch_threads)
        state = load_state(
            settings.index_dir, settings.model, settings.exact, vectors_only=settings.vectors_only,
            engine=settings.engine, opener=opener,
        )  # fmt: skip
        warm_up(state)
    except Exception as exc:  # reported by /readyz; the process stays up to say why
        holder.error = f"{type(exc).__name__}: {exc}"
        logger.error("loading %s failed: %s", settings.index_dir, holder.error)
        return
    holder.swap(state)
    logger.info("serving %s (%d documents) with %s", state.index_dir, len(state.index), state.model)


async def _request_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    detail = [{"type": "value_error", "loc": list(exc.loc), "msg": str(exc)}]
    return JSONResponse({"detail": detail}, status_code=422)


async def _lsr_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=422)
