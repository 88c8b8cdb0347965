"""uvicorn's httptools protocol, sending each response in one write.

uvicorn writes a response's status line and headers in one ``transport.write`` and its body in
another: two ``send`` calls, two segments over loopback, and the client woken twice. They were
the event loop's largest own cost per query (py-spy of ``lsr serve`` under wrk at 1 client, 200k
synthetic, Zen 4 VM: 16% of its samples, 208 in the first write, 81 in the second); in one
write, the loop's CPU per query fell by 0.06 ms (0.81 -> 0.75 ms, and 0.67 -> 0.61 ms in
another sitting, both medians of 30 rounds).
Here the protocol's transport holds what is written within one step of the event loop and
sends it together: when the response completes (``on_response_complete``, called right after
the last body write), else at the end of the loop's current step (a streamed body's chunks, a
``100 Continue``, uvicorn's own error answers), and before the connection closes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class OneWriteProtocol(HttpToolsProtocol):
    """``lsr serve``'s HTTP protocol (``uvicorn.run(http=...)``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Coalescing(transport, self.loop))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]
        super().on_response_complete()


class _Coalescing:
    """A transport whose writes within one step of the loop go out as one (see the module)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        data, self._pending = b"".join(self._pending), []
        # A connection closed meanwhile (by the client) takes no more writes: uvicorn checks
        # the same before each of its own.
        if data and not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        # Everything else (reading, flow control, extra info) is the transport's own.
        return getattr(self._transport, name)
