"""What every request goes through before its route: the API key, the body size limit, the
timeout, then one log line and the request metrics.

A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``: it adds no task per
request (HTTP overhead is part of every query's latency) and it sees the status of responses
that the routes never made (401, 413, 504).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time

from lsr.service.metrics import Metrics
from lsr.service.settings import Settings
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("lsr.service")

#: Reachable without the API key: liveness and readiness (probes carry no secrets), and the
#: page and API description, which hold no data (a browser cannot send a header when it opens a
#: page; the page asks for the key and sends it with each search).
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/", "/docs", "/openapi.json"})
PUBLIC_PREFIXES = ("/static/",)
KEY_HEADER = b"x-api-key"


class Guard:
    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self._key = settings.api_key.encode() if settings.api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            refusal, receive = await self._admit(scope, receive)
            if refusal is not None:
                await refusal(scope, receive, send_status)
            else:
                await self._run(scope, receive, send_status)
        finally:
            self._record(scope, status, 1000 * (time.perf_counter() - start))

    async def _admit(self, scope: Scope, receive: Receive) -> tuple[JSONResponse | None, Receive]:
        """A 401 or 413 response for a request that may not proceed, else None, and the
        ``receive`` that replays its (size-checked) body."""
        headers = dict(scope["headers"])
        if self._key is not None and not _public(scope["path"]):
            if not hmac.compare_digest(headers.get(KEY_HEADER, b""), self._key):
                return _error(401, "missing or wrong X-API-Key header"), receive
        limit = self.settings.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _error(413, f"request body over {limit} bytes"), receive
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return None, receive
        body, complete = await _read_body(receive, limit)
        if not complete:
            return _error(413, f"request body over {limit} bytes"), receive
        return None, _replay(body)

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_started(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        # The request's own task is cancelled when the time is up: asyncio.wait_for would run
        # the app in a task of its own, created (with a copy of the context) for every request.
        timeout = self.settings.request_timeout_s
        task = asyncio.current_task()
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        timer = asyncio.get_running_loop().call_later(timeout, expire)
        try:
            await self.app(scope, receive, send_started)
        except asyncio.CancelledError:
            if not expired:
                raise
            if hasattr(task, "uncancel"):  # Python >= 3.11: the cancellation was ours, now spent
                task.uncancel()
            if not started:
                await _error(504, f"the request took longer than {timeout:g} s")(
                    scope, receive, send
                )
        finally:
            timer.cancel()

    def _record(self, scope: Scope, status: int, ms: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.count_request(template, scope["method"], status)
        line = f"{scope['method']} {scope['path']} {status} {ms:.2f} ms"
        if self.settings.log_queries:
            params = scope.get("query_string", b"").decode("latin-1")
            text = scope.get("state", {}).get("query_text")
            line += "".join(f" {k}={v!r}" for k, v in (("params", params), ("query", text)) if v)
        logger.info(line)


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The request body, reading at most ``limit + 1`` bytes; False if it is longer."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", False
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # After the body, what the server would say next: wait (as for a client that keeps the
        # connection open) until cancelled.
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    return receive
