"""Timing searches the way a user meets them, for the choices the index makes by itself
(:mod:`index.tuning`, :mod:`index.engine`): on one thread, the fastest of interleaved rounds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numba


@contextmanager
def one_thread() -> Iterator[None]:
    """Numba kernels on one thread (this Python thread only) while timing: the latency a user
    sees per query, not a batch's throughput over however many cores happen to be free."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def fastest(
    runs: Sequence[Callable[[], object]],
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
) -> list[float]:
    """Seconds of each of ``runs``, the minimum over ``rounds`` rounds in which every run goes
    once in turn: load on a shared machine then slows all of them alike, not the ones that
    happened to run during a burst, and the minimum is the run least disturbed by it.

    ``clock`` is wall time by default; ``time.process_time`` counts only the CPU time this
    process spent (all its threads), which other jobs' turns on the cores do not inflate."""
    best = [float("inf")] * len(runs)
    for _ in range(rounds):
        for i, run in enumerate(runs):
            start = clock()
            run()
            best[i] = min(best[i], clock() - start)
    return best
