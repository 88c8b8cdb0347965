"""The forward index: every document vector, contiguous, in compact types.

Seismic scores the documents of a block exactly against the forward index (``sparse_dataset.rs``
in the reference), so its layout decides the cost of the inner loop: one pass over a document's
sorted terms, multiplying each weight by the query's weight for that term (a dense query vector,
one lookup per term). Term ids are stored as uint16 when the vocabulary allows (BERT's 30,522
terms do), int32 otherwise; weights as float16 by default (learned weights need ~3 significant
digits; half the bytes of float32) or float32 on request.

Numba has no float16 type on the CPU, so float16 weights are stored as their raw uint16 bit
patterns and converted in registers by :func:`half_to_float`; :func:`decode` picks the right
access at compile time, so one kernel source serves both value types.

Search reads the rows of the documents it scores at random places. Stored as two arrays, a row
is two regions of memory (its ids, its weights), each a page (TLB entry) and a DRAM row of its
own; :func:`side_by_side` lays each row's ids and weights next to each other in one array
(when both are 2 bytes wide: u16 ids, float16 weights), one region per document. On the same
scored documents of 200k synthetic queries that scores 0.72-0.82x the time of the two arrays
(``reports/forward-order-*``), a gain no order of the documents gave: a document sits in the
blocks of ~95 posting lists and can be next to the other documents of only one of them. Search
takes either layout (:func:`row_dot`, :func:`row_prefetch` pick theirs at compile time); the
saved index keeps the two arrays every other reader uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from llvmlite import ir
from lsr.index.prefetch import prefetch_range
from lsr.index.simd import LANES, dot_lanes
from numba import njit, types
from numba.extending import intrinsic, overload

from lsr.errors import InputError
from lsr.vectors import SparseCollection, VectorMetadata

VALUE_DTYPES = ("float16", "float32")


def decode(values, position):  # pragma: no cover - replaced by the overload in kernels
    """Weight ``position`` of ``values`` as float32 (float16 bits through :func:`half_to_float`)."""
    raise NotImplementedError("decode only runs inside Numba kernels")


@intrinsic
def _bits_to_float32(typingctx, bits):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.uint32), codegen


#: 2 ** (127 - 15): moves a float16 exponent, placed in a float32's exponent field, to its bias.
_REBIAS = np.float32(2.0**112)


@njit(nogil=True, cache=True, inline="always")
def half_to_float(bits):
    """float32 value of non-negative float16 ``bits``, exactly, with two integer operations and a
    multiply: the exponent and mantissa bits shifted into a float32 read as 2**-112 times the
    value (subnormals included). 1.5x faster in the dot product than a lookup table, whose
    256 KiB stay in L2 but not in L1."""
    return _bits_to_float32(np.uint32(bits & 0x7FFF) << np.uint32(13)) * _REBIAS


@overload(decode, inline="always")
def _decode_overload(values, position):
    if values.dtype == types.uint16:
        return lambda values, position: half_to_float(values[position])
    return lambda values, position: values[position]


@njit(nogil=True, cache=True)
def dot_dense(terms, values, start, end, query_dense):
    """Inner product of document ``[start, end)`` with a dense float32 query vector.

    The inner loop of Seismic: eight lanes of partial sums in vector code
    (:func:`index.simd.dot_lanes`) over whole groups of eight entries, then the remaining
    entries added in order. The order is fixed, so a document's score is the same wherever it is
    computed (:class:`~index.exact.ExactIndex` rescores its candidates with this function too).
    The loop is branch-free on purpose: skipping terms absent from the query mispredicts often
    enough to cost 1.7x (measured), more than the additions of +0.0 it saves.
    """
    stop = start + (end - start) // LANES * LANES
    score = dot_lanes(terms, values, start, stop, query_dense)
    for p in range(stop, end):
        score += query_dense[terms[p]] * decode(values, p)
    return score


@njit(nogil=True, cache=True)
def side_by_side(indptr, terms, values):
    """Row ``d``'s term ids at ``rows[2 * indptr[d]:]`` and its weights right after them, in one
    uint16 array (``terms`` and ``values`` both 2 bytes wide)."""
    rows = np.empty(2 * len(terms), np.uint16)
    for d in range(len(indptr) - 1):
        at, n = 2 * indptr[d], indptr[d + 1] - indptr[d]
        rows[at : at + n] = terms[indptr[d] : indptr[d + 1]]
        rows[at + n : at + 2 * n] = values[indptr[d] : indptr[d + 1]]
    return rows


def row_dot(forward, d, query_dense):  # pragma: no cover - replaced by the overload in kernels
    """:func:`dot_dense` of row ``d`` of ``forward``: ``(indptr, terms, values)``, or
    ``(indptr, rows)`` from :func:`side_by_side` (the same bits either way)."""
    raise NotImplementedError("row_dot only runs inside Numba kernels")


def row_prefetch(forward, d):  # pragma: no cover - replaced by the overload in kernels
    """Prefetch row ``d`` of ``forward`` (either layout of :func:`row_dot`)."""
    raise NotImplementedError("row_prefetch only runs inside Numba kernels")


@overload(row_dot, inline="always")
def _row_dot_overload(forward, d, query_dense):
    if len(forward) == 2:

        def side_by_side_dot(forward, d, query_dense):
            indptr, rows = forward
            at, n = 2 * indptr[d], indptr[d + 1] - indptr[d]
            return dot_dense(rows[at : at + n], rows[at + n : at + 2 * n], 0, n, query_dense)

        return side_by_side_dot
    return lambda forward, d, query_dense: dot_dense(
        forward[1], forward[2], forward[0][d], forward[0][d + 1], query_dense
    )


@overload(row_prefetch, inline="always")
def _row_prefetch_overload(forward, d):
    if len(forward) == 2:
        return lambda forward, d: prefetch_range(
            forward[1], 2 * forward[0][d], 2 * forward[0][d + 1]
        )

    def two_arrays(forward, d):
        indptr, terms, values = forward
        prefetch_range(terms, indptr[d], indptr[d + 1])
        prefetch_range(values, indptr[d], indptr[d + 1])

    return two_arrays


def term_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= (1 << 16) else np.dtype(np.int32)


@dataclass
class ForwardIndex:
    """Documents in CSR layout: ``indptr`` (int64), ``terms``, ``values`` (raw storage)."""

    indptr: np.ndarray
    terms: np.ndarray
    values: np.ndarray
    value_dtype: str
    vocab_size: int

    @classmethod
    def from_collection(
        cls, collection: SparseCollection, value_dtype: str = "float16"
    ) -> ForwardIndex:
        if value_dtype not in VALUE_DTYPES:
            raise InputError(f"value_dtype must be one of {VALUE_DTYPES}, got {value_dtype!r}")
        if value_dtype == "float16":
            too_large = collection.values > np.finfo(np.float16).max
            if too_large.any():
                raise InputError(
                    f"weight {float(collection.values[too_large][0])} overflows float16; "
                    "build with value_dtype='float32'"
                )
            values = collection.values.astype(np.float16).view(np.uint16)
        else:
            values = collection.values.astype(np.float32)
        return cls(
            indptr=np.ascontiguousarray(collection.indptr, dtype=np.int64),
            terms=collection.indices.astype(term_dtype(collection.vocab_size)),
            values=np.ascontiguousarray(values),
            value_dtype=value_dtype,
            vocab_size=collection.vocab_size,
        )

    @classmethod
    def concat(cls, parts: list[ForwardIndex]) -> ForwardIndex:
        """Row groups of one collection as one forward index (``parts`` is emptied as it goes,
        so that each part's memory is freed once copied)."""
        first = parts[0]
        lengths = np.concatenate([np.diff(part.indptr) for part in parts])
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        terms = np.empty(indptr[-1], dtype=first.terms.dtype)
        values = np.empty(indptr[-1], dtype=first.values.dtype)
        at = 0
        while parts:
            part = parts.pop(0)
            terms[at : at + part.nnz] = part.terms
            values[at : at + part.nnz] = part.values
            at += part.nnz
        return cls(indptr, terms, values, first.value_dtype, first.vocab_size)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @property
    def nbytes(self) -> int:
        return self.indptr.nbytes + self.terms.nbytes + self.values.nbytes

    def search_arrays(self) -> tuple[np.ndarray, ...]:
        """What the search kernels read: ``(indptr, rows)`` from :func:`side_by_side` when ids
        and weights are both 2 bytes wide (a copy: as large as ``terms`` and ``values``
        together), ``(indptr, terms, values)`` otherwise."""
        if self.terms.itemsize == 2 and self.values.itemsize == 2:
            return self.indptr, side_by_side(self.indptr, self.terms, self.values)
        return self.indptr, self.terms, self.values

    def float_values(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Weights ``start:stop`` (all by default) as float32, exactly the values kernels
        compute with."""
        values = self.values[start:stop]
        if self.value_dtype == "float16":
            return values.view(np.float16).astype(np.float32)
        return np.asarray(values, dtype=np.float32)

    def to_collection(self, ids: list[str], metadata: VectorMetadata) -> SparseCollection:
        """The stored vectors as a collection (weights as the index stores them)."""
        return SparseCollection(
            ids,
            np.asarray(self.indptr),
            self.terms.astype(np.int32),
            self.float_values(),
            metadata,
        )
