"""The thread pools a request's work runs in, off the event loop.

Searching: one pool of ``search_threads`` threads (default: the machine's cores). Its size is
the cap on concurrent kernel calls (a bounded pool is a semaphore that also owns its threads):
the kernels release the GIL, so up to that many searches run truly in parallel, and more would
only share the same cores while each holding collection-sized scratch arrays (one set per
thread, see ``SeismicIndex._scratch``). Encoding: a separate, small pool, so a burst of text
queries (milliseconds each in torch) never delays searches of ready vectors (microseconds).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Workers:
    def __init__(self, search_threads: int, encode_threads: int) -> None:
        self._search = ThreadPoolExecutor(search_threads, thread_name_prefix="lsr-search")
        self._encode = ThreadPoolExecutor(encode_threads, thread_name_prefix="lsr-encode")

    async def search(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` in the search pool."""
        return await _run(self._search, function, args)

    async def encode(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` in the encoding pool."""
        return await _run(self._encode, function, args)

    def shutdown(self) -> None:
        self._search.shutdown(wait=False, cancel_futures=True)
        self._encode.shutdown(wait=False, cancel_futures=True)


async def _run(pool: ThreadPoolExecutor, function: Callable[..., T], args: tuple) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, functools.partial(function, *args))
