"""``POST /search``, ``GET /search`` and ``POST /search/batch``."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from lsr.service.body import DirectRoute, openapi_body, parse_body
from lsr.service.dependencies import MetricsDep, ServingDep, SettingsDep, WorkersDep, serving
from lsr.service.metrics import Metrics
from lsr.service.schemas import (
    BatchRequest,
    BatchResponse,
    SearchQuery,
    SearchRequest,
    SearchResponse,
    Timings,
)
from lsr.service.search import encode_text, filter_option, find, vector_terms
from lsr.service.settings import Settings
from lsr.service.state import ServingState
from lsr.service.workers import Workers
from pydantic import BaseModel

router = APIRouter(tags=["search"])

#: Answered 422 when a field is invalid (FastAPI's validation error shape, ``loc`` naming it).
ERRORS = {422: {"description": "A field is invalid; `detail[].loc` names it."}}


async def search(request: Request) -> Response:
    """Search with a text `query` or a ready `vector` (`{"token": weight}` or
    `{"indices": [...], "values": [...]}`)."""
    # Every query's route: its body and the app's objects are read here rather than through
    # FastAPI's body parameter and dependencies (see lsr.service.body).
    body = parse_body(SearchRequest, await request.body())
    request.state.query_text = body.query
    app = request.app.state
    state = serving(app.holder)
    return as_json(await answer(body, ("body",), state, app.settings, app.workers, app.metrics))


router.add_api_route(
    "/search",
    search,
    methods=["POST"],
    route_class_override=DirectRoute,
    response_model=SearchResponse,
    response_model_exclude_none=True,
    responses=ERRORS,
    openapi_extra=openapi_body(SearchRequest),
)


@router.get(
    "/search", response_model=SearchResponse, response_model_exclude_none=True, responses=ERRORS
)
async def search_get(
    params: Annotated[SearchQuery, Query()],
    request: Request,
    state: ServingDep,
    settings: SettingsDep,
    workers: WorkersDep,
    metrics: MetricsDep,
) -> Response:
    """Search with the text `q`, for a browser or curl: `/search?q=...&k=10`; `filter` is the
    JSON of `POST /search`'s (URL-encoded)."""
    body = SearchRequest(query=params.q, **params.model_dump(exclude={"q"}))
    request.state.query_text = body.query
    return as_json(await answer(body, ("query",), state, settings, workers, metrics))


@router.post(
    "/search/batch",
    response_model=BatchResponse,
    response_model_exclude_none=True,
    responses=ERRORS,
)
async def search_batch(
    body: BatchRequest,
    state: ServingDep,
    settings: SettingsDep,
    workers: WorkersDep,
    metrics: MetricsDep,
) -> Response:
    """Several searches in one request, answered in order; they run concurrently."""
    start = time.perf_counter()
    results = await asyncio.gather(
        *(
            answer(one, ("body", "searches", i), state, settings, workers, metrics)
            for i, one in enumerate(body.searches)
        )
    )
    return as_json(BatchResponse(results=results, took_ms=1000 * (time.perf_counter() - start)))


async def answer(
    body: SearchRequest,
    loc: tuple,
    state: ServingState,
    settings: Settings,
    workers: Workers,
    metrics: Metrics,
) -> SearchResponse:
    """Check the filter, encode (text, in the encoding pool), search (in the search pool), time
    both."""
    start = time.perf_counter()
    options = filter_option(state, body.filter, (*loc, "filter"))
    if body.query is not None:
        field = (*loc, "query")
        terms, weights, encode_ms = await workers.encode(
            encode_text, state, body.query, settings.max_query_tokens, field
        )
    else:
        field = (*loc, "vector")
        terms, weights = vector_terms(state, body.vector, field)
        encode_ms = 0.0
    hits, search_ms = await workers.search(find, state, terms, weights, body, field, options)
    total_ms = 1000 * (time.perf_counter() - start)
    metrics.observe(encode_ms, search_ms, total_ms)
    return SearchResponse(
        hits=hits, took_ms=Timings(encode=encode_ms, search=search_ms, total=total_ms)
    )


def as_json(model: BaseModel) -> Response:
    """The answer serialized once, by pydantic's JSON serializer: returning the model itself
    would have FastAPI validate it again against ``response_model`` (which stays the schema of
    record in the OpenAPI) and encode it through Python objects."""
    return Response(model.model_dump_json(exclude_none=True), media_type="application/json")
