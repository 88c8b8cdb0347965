"""Sets of document positions as packed bits: bit ``d & 63`` of 64-bit word ``d >> 6``.

The layout of the search kernels' visited flags (:mod:`index.search`), so that a set of documents
to leave out (deleted ones, those a filter disallows) can seed them as they are. A set over ``n``
documents takes ``n / 8`` bytes: 125 KiB at 1M documents.
"""

from __future__ import annotations

import numpy as np


def words(n_docs: int) -> int:
    """Words of a bitset over ``n_docs`` documents."""
    return (n_docs + 63) // 64


def empty(n_docs: int) -> np.ndarray:
    return np.zeros(words(n_docs), dtype=np.uint64)


def from_mask(mask: np.ndarray) -> np.ndarray:
    """The bitset of the ``True`` entries of a boolean mask."""
    padded = np.zeros(words(len(mask)) * 64, dtype=bool)
    padded[: len(mask)] = mask
    # packbits is big-endian per byte unless told otherwise; little bit order puts document d at
    # bit d & 7 of byte d >> 3, which on a little-endian machine is bit d & 63 of word d >> 6.
    return np.packbits(padded, bitorder="little").view("<u8").astype(np.uint64)


def to_mask(bits: np.ndarray, n_docs: int) -> np.ndarray:
    """The boolean mask of a bitset over ``n_docs`` documents."""
    as_bytes = np.ascontiguousarray(bits, dtype="<u8").view(np.uint8)
    return np.unpackbits(as_bytes, bitorder="little")[:n_docs].astype(bool)


def from_positions(positions: np.ndarray, n_docs: int) -> np.ndarray:
    mask = np.zeros(n_docs, dtype=bool)
    mask[np.asarray(positions, dtype=np.int64)] = True
    return from_mask(mask)


def count(bits: np.ndarray) -> int:
    """How many documents the set holds."""
    return int(np.unpackbits(np.ascontiguousarray(bits, dtype="<u8").view(np.uint8)).sum())
