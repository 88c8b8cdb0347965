"""The threads a request's work runs in, off the event loop.

Searching: ``search_threads`` threads (default: the machine's cores). Their number is the cap
on concurrent kernel calls: the kernels release the GIL, so up to that many searches run truly
in parallel, and more would only share the same cores while each holding collection-sized
scratch arrays (one set per thread, see ``SeismicIndex._scratch``). Encoding: a separate, small
set, so a burst of text queries (milliseconds each in torch) never delays searches of ready
vectors (microseconds).

Each set is a few threads taking jobs from one queue, first come first served (what keeps the
p99 at 8 clients near ``benchmarks.serve.queueing_floor``), and each job resolves its asyncio
future with one ``call_soon_threadsafe``. ``loop.run_in_executor`` does the same through a
``concurrent.futures.Future`` chained to an asyncio one: a lock, a condition and two callbacks
more per job (loop -> thread -> loop of a trivial job on the 2-core Zen 4 VM, uvloop, 3 rounds
of 3,000: CPU per job 15-22 -> 6-10 us at 8 concurrent jobs).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: A job: the loop to answer on, the future to resolve, the function and its arguments.
Job = tuple[asyncio.AbstractEventLoop, asyncio.Future, Callable[..., Any], tuple]


class Pool:
    """``threads`` daemon threads running jobs of one FIFO queue."""

    def __init__(self, threads: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in one of the threads; its result or exception here."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, function, args))
        return await future

    def shutdown(self) -> None:
        """Cancel the jobs still queued and stop the threads (on the loop, as the app stops)."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[1].cancel()
        for _ in self._threads:
            self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, future, function, args = job
            if future.cancelled():  # its request timed out while queued: skip the work
                continue
            try:
                outcome = (_resolve, future, function(*args))
            except BaseException as exc:  # re-raised in the caller, who must be answered
                outcome = (_fail, future, exc)
            try:
                loop.call_soon_threadsafe(*outcome)
            except RuntimeError:  # the loop has closed (shutdown): nobody waits for it
                pass


def _resolve(future: asyncio.Future, result: Any) -> None:
    if not future.done():  # cancelled meanwhile (the request's timeout)
        future.set_result(result)


def _fail(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class Workers:
    def __init__(self, search_threads: int, encode_threads: int) -> None:
        self._search = Pool(search_threads, "lsr-search")
        self._encode = Pool(encode_threads, "lsr-encode")

    async def search(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` in a search thread."""
        return await self._search.run(function, *args)

    async def encode(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` in an encoding thread."""
        return await self._encode.run(function, *args)

    def shutdown(self) -> None:
        self._search.shutdown()
        self._encode.shutdown()
