"""A request body parsed and validated in one pass, for the route on every query's path.

FastAPI handles a body parameter by decoding the JSON with Python's ``json`` into objects,
then validating those against the model, and resolves every dependency of a route through its
solver, a coroutine each. For ``POST /search`` that was about a third of the event loop's CPU
per request (320 -> 200 us for a raw-vector query, measured in process on the ASGI app, min
of 7 rounds of 200 requests): here pydantic parses the bytes and validates them together
(``model_validate_json``, in Rust), and the route reads what it needs from the app's state.
The answers stay FastAPI's: a 422 whose ``detail[].loc`` starts with ``"body"``, and the model
is the body of record in the OpenAPI (:func:`openapi_body`). Such a route, taking the request
and returning its response, is then called as it is (:class:`DirectRoute`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], raw: bytes) -> M:
    """``raw`` (JSON text) as a ``model``; invalid JSON or fields -> FastAPI's 422.

    An error about the JSON text itself does not echo the text back (as FastAPI's does not): it
    may not even be UTF-8, and the answer must be JSON."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError([_in_body(e) for e in exc.errors(include_url=False)]) from None


def _in_body(error: dict) -> dict:
    located = {**error, "loc": ("body", *error["loc"])}
    if error["type"] == "json_invalid":
        located["input"] = {}
    return located


def openapi_body(model: type[BaseModel]) -> dict:
    """The ``openapi_extra`` of a route whose JSON body is ``model`` (a schema FastAPI lists
    among the components because another route's body refers to it)."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class DirectRoute(APIRoute):
    """A route whose endpoint takes the ``Request`` and returns the ``Response``, called as it
    is: FastAPI's request handler would still resolve the ``Request`` parameter through its
    dependency solver and check what the endpoint returned (~35 us of the event loop's CPU per
    request, 290 -> 255 us for a raw-vector query through the ASGI app in process, rounds of 500
    requests). The declaration (response model, OpenAPI) stays FastAPI's, and errors still
    reach the app's exception handlers."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        return self.endpoint
