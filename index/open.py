"""Open whatever index a directory holds, for searching: the one entry point of its readers.

A directory from ``lsr index build`` holds a :class:`~index.seismic.SeismicIndex`; once changed by
``lsr index add`` / ``delete`` / ``merge`` it holds a living index, searched through
:class:`~index.segmented.SegmentedIndex`, which answers the same calls; one from ``lsr index build
--shards N`` holds shards, searched through :class:`~index.sharded.ShardedIndex`, a
``SegmentedIndex`` too. ``lsr index search``,
``lsr index info`` and ``lsr serve`` (and its reload) open indexes here, so they take both.
"""

from __future__ import annotations

import os

from lsr.index.commit import is_living
from lsr.index.segmented import SegmentedIndex
from lsr.index.seismic import SeismicIndex
from lsr.index.sharded import ShardedIndex, is_sharded


def open_index(
    directory: str | os.PathLike, verify: bool = False, mmap: bool = True
) -> SeismicIndex | SegmentedIndex:
    """The index in ``directory``, ready to search (``verify``: also check every file's
    checksum). Memory-mapped by default, so that processes serving one index share its pages;
    ``mmap=False`` reads it into this process's memory, where Linux backs large arrays with 2
    MiB pages: documents' rows read at random then cost fewer TLB misses (0.86x the search time
    on 1M synthetic documents, ``reports/block-order-1m-intel-idle-s9-in-memory.md``), at the
    price of a private copy and of reading the whole index at start."""
    if is_sharded(directory):
        return ShardedIndex.load(directory, verify=verify, mmap=mmap)
    if is_living(directory):
        return SegmentedIndex.load(directory, verify=verify, mmap=mmap)
    return SeismicIndex.load(directory, mmap=mmap, verify=verify)
