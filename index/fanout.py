"""One call of a function on several parts at once: the calling thread takes part 0, a
long-lived worker thread each of the others (a sharded index's shards, :mod:`index.sharded`).

A worker waits on a lock of its own, released by the caller to hand it a part, and hands the
result back by releasing a second lock: the hand-off is one futex wake each way and a few
bytecodes. ``ThreadPoolExecutor.submit`` / ``result`` take a queue, a future with its condition
and a lock more per call, all run under the GIL that the caller holds until its own part enters a
compiled kernel (the worker's Python cannot start its part before that): the round trip of a
function doing nothing measured ~53 µs on the 2-CPU Zen 4 VM, and in a 2-shard search of the 1M
synthetic collection the pool thread started its shard 100-150 µs after the submit.

Workers are kept on a stack of idle ones, taken and given back by each call (``list.pop`` and
``append`` are atomic under the GIL): callers in several threads (the service's search threads)
each take their own, and a worker is made only when none is idle, so there are at most as many
as calls ever ran at once. The most recently used is taken first: the one most likely still on
a core that has not gone idle. Workers are daemon threads that end when :meth:`FanOut.close` is
called or the :class:`FanOut` is collected.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Worker(Generic[T]):
    """A thread that runs one part at a time: :meth:`start` hands it, :meth:`result` waits."""

    def __init__(self, name: str) -> None:
        self._go = threading.Lock()
        self._go.acquire()
        self._done = threading.Lock()
        self._done.acquire()
        self._call: tuple[Callable[[int], T], int] | None = None
        self._result: T | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._serve, name=name, daemon=True).start()

    def _serve(self) -> None:
        while True:
            self._go.acquire()
            if self._call is None:  # stop
                return
            function, part = self._call
            self._call = None
            try:
                self._result = function(part)
            except BaseException as error:  # raised again in the caller's thread
                self._error = error
            self._done.release()

    def start(self, function: Callable[[int], T], part: int) -> None:
        self._call = function, part
        self._go.release()

    def result(self) -> T:
        """The part's result, or its exception raised here; the worker is then idle."""
        self._done.acquire()
        result, error = self._result, self._error
        self._result = self._error = None
        if error is not None:
            raise error
        return result  # type: ignore[return-value]

    def stop(self) -> None:
        """End the thread (an idle worker: none is running a part)."""
        self._call = None
        self._go.release()


def _stop_all(idle: list[_Worker]) -> None:
    while idle:
        idle.pop().stop()


class FanOut:
    """``function(part)`` for parts ``0..n-1`` at once (see the module docstring)."""

    def __init__(self, name: str = "lsr-part") -> None:
        self._name = name
        self._idle: list[_Worker] = []
        self._closed = False
        self._closer = weakref.finalize(self, _stop_all, self._idle)

    def map(self, function: Callable[[int], T], n: int) -> list[T]:
        """``[function(0), ..., function(n - 1)]``, part 0 in the calling thread, the others in
        workers. Every part has ended when this returns or raises; a part's exception is
        raised here (part 0's first, then the lowest part's)."""
        if n <= 1:
            return [function(0)] if n else []
        workers = [self._take() for _ in range(n - 1)]
        for part, worker in enumerate(workers, 1):
            worker.start(function, part)
        try:
            first = function(0)
        finally:
            outcomes: list[tuple[bool, object]] = []
            for worker in workers:
                try:
                    outcomes.append((True, worker.result()))
                except BaseException as error:  # raised below, in part order
                    outcomes.append((False, error))
                if self._closed:
                    worker.stop()
                else:
                    self._idle.append(worker)
        for ok, outcome in outcomes:
            if not ok:
                raise outcome  # type: ignore[misc]
        return [first, *(outcome for _, outcome in outcomes)]  # type: ignore[list-item]

    def _take(self) -> _Worker:
        try:
            return self._idle.pop()
        except IndexError:
            return _Worker(self._name)

    def close(self) -> None:
        """End the workers: the idle ones now, those of a call still running when it returns."""
        self._closed = True
        self._closer()
