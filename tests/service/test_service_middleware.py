"""The request guard (``service.middleware.Guard``) around a slow ASGI app, over a real HTTP
server: the timeout answers 504, and the request is still logged and counted."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from lsr.service.metrics import Metrics
from lsr.service.middleware import Guard
from lsr.service.settings import Settings


async def slow_app(scope, receive, send):
    if scope["type"] != "http":
        return
    await asyncio.sleep(float(scope["query_string"] or b"0"))
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"done"})


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    settings = Settings(index_dir=tmp_path_factory.mktemp("unused"), request_timeout_s=0.3)
    metrics = Metrics()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        Guard(slow_app, settings=settings, metrics=metrics), port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", metrics
    server.should_exit = True
    thread.join(timeout=10)


def test_a_request_over_the_timeout_is_504(guarded, caplog):
    url, metrics = guarded
    with caplog.at_level(logging.INFO, logger="lsr.service"):
        response = httpx.get(url + "/work?2")
    assert response.status_code == 504
    assert "0.3 s" in response.json()["detail"]
    # The server thread logs after it has sent the answer: wait for the line, do not race it.
    deadline = time.monotonic() + 10
    while not any(r.getMessage().startswith("GET /work 504 ") for r in caplog.records):
        assert time.monotonic() < deadline, "no log line for the 504"
        time.sleep(0.05)
    labels = {"route": "unmatched", "method": "GET", "status": "504"}
    assert metrics.registry.get_sample_value("lsr_http_requests_total", labels) == 1


def test_a_request_within_the_timeout_is_answered(guarded):
    url, _ = guarded
    response = httpx.get(url + "/work?0.05")
    assert (response.status_code, response.text) == (200, "done")
