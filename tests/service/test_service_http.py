"""``lsr serve``'s HTTP protocol (``service.http.OneWriteProtocol``): a response, headers and
body, reaches the transport in one write, and all of it before the connection closes."""

from __future__ import annotations

import asyncio

from lsr.service.http import OneWriteProtocol
from uvicorn.config import Config
from uvicorn.server import ServerState


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"5")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"hello"})


class Transport(asyncio.Transport):
    """What the protocol wrote, write by write, and whether it closed."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default=None):
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def connect() -> tuple[OneWriteProtocol, Transport]:
    """A protocol serving ``app`` on a new connection (in a running event loop)."""
    config = Config(app, log_level="error")
    config.load()
    protocol = OneWriteProtocol(config=config, server_state=ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport


def serve(request: bytes) -> Transport:
    """One request through the protocol; the transport it answered on."""

    async def main() -> Transport:
        protocol, transport = connect()
        protocol.data_received(request)
        for _ in range(50):
            await asyncio.sleep(0.01)
            if transport.writes and transport.writes[-1].endswith(b"hello"):
                break
        return transport

    return asyncio.run(main())


def test_headers_and_body_are_one_write():
    transport = serve(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\nhello")
    assert not transport.closed  # kept alive


def test_a_closing_connection_gets_the_whole_response_first():
    transport = serve(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert len(transport.writes) == 1
    assert transport.writes[0].endswith(b"\r\n\r\nhello")
    assert transport.closed


def test_uvicorns_own_error_answer_is_sent_before_it_closes():
    transport = serve(b"NOT HTTP\r\n\r\n")
    assert b"".join(transport.writes).startswith(b"HTTP/1.1 400 Bad Request")
    assert transport.closed


def test_what_is_left_for_a_connection_the_client_closed_is_dropped():
    async def main() -> Transport:
        protocol, transport = connect()
        protocol.transport.write(b"a streamed chunk")  # flushed at the end of this step
        transport.closed = True  # the client went away before that
        await asyncio.sleep(0.01)
        return transport

    assert asyncio.run(main()).writes == []
