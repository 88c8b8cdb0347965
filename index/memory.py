"""Giving freed memory back to the operating system during a build.

The build kernels allocate and free many temporary arrays of a few kilobytes to a few megabytes
(per block and per list), from several threads. glibc keeps such freed memory in its per-thread
heaps rather than returning it, so a build's resident memory keeps the high-water mark of its
temporaries on top of the index it builds (measured on 50k documents: 1.9 GB peak where the
arrays alive never exceed 1.5 GB). ``malloc_trim`` hands every heap's free pages back; the build
calls it between batches. Elsewhere (other C libraries) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _malloc_trim():
    path = ctypes.util.find_library("c")
    library = ctypes.CDLL(path) if path else None
    return getattr(library, "malloc_trim", None)


def release_free_memory() -> None:
    """Return the C heap's free pages to the operating system, where the C library can."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
