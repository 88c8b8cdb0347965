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
own; side by side (:func:`side_by_side`: row ``d``'s ids, then its weights, in one uint16 array,
when both are 2 bytes wide: u16 ids, float16 weights) it is one region per document. On the same
scored documents of 200k synthetic queries that scores 0.72-0.82x the time of the two arrays
(``reports/forward-order-*``), a gain no order of the documents gave: a document sits in the
blocks of ~95 posting lists and can be next to the other documents of only one of them.

Two layouts, one interface. :class:`ForwardIndex` holds the two arrays: the build makes it and
its phases (pruning, clustering, summaries) read it. A built index keeps
:meth:`ForwardIndex.to_side_by_side`, a :class:`SideBySideForward`, and saves it as it is (index
format 4, ``forward.rows``): search memory-maps the very layout it reads, so processes that open
one index share its pages through the page cache and no copy is made at load or on the first
search. Other widths (int32 ids of a vocabulary beyond 65,536 terms, float32 weights) keep the
two arrays, in memory and on disk. Every reader goes through what both layouts have: the
kernels through :meth:`~ForwardIndex.kernel_arrays` with :func:`row_dot`, :func:`row_prefetch`
and :func:`row_slices` (each picks its layout at compile time), Python through
:meth:`~ForwardIndex.rows_at` and :meth:`~ForwardIndex.document` (ids as int32, weights as
float32). A format 3 index (the two arrays of u16 and float16) is still read and gets its side by
side rows as before, a copy made on its first search (:meth:`ForwardIndex.search_arrays`), so
that its latency does not change; rebuilt, it is memory-mapped like a format 4 index.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
from llvmlite import ir
from lsr.index.prefetch import L2, prefetch_range
from lsr.index.simd import dot_lanes
from numba import njit, types
from numba.extending import intrinsic, overload

from lsr.errors import InputError
from lsr.vectors import SparseCollection, VectorMetadata

VALUE_DTYPES = ("float16", "float32")
#: How a forward index holds its rows (recorded in a saved index's manifest as ``forward_layout``).
TWO_ARRAYS, SIDE_BY_SIDE = "two_arrays", "side_by_side"
LAYOUTS = (TWO_ARRAYS, SIDE_BY_SIDE)


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
    (:func:`index.simd.dot_lanes`), entry ``p`` in lane ``(p - start) % 8`` (the last, partial
    group too), lanes summed pairwise. The order is fixed, so a document's score is the same wherever it is
    computed (:class:`~index.exact.ExactIndex` rescores its candidates with this function too).
    The loop is branch-free on purpose: skipping terms absent from the query mispredicts often
    enough to cost 1.7x (measured), more than the additions of +0.0 it saves.
    """
    return dot_shifted(terms, values, start, end, 0, query_dense)


@njit(nogil=True, cache=True, inline="always")
def dot_shifted(terms, values, start, end, shift, query_dense):
    """:func:`dot_dense` with entry ``p``'s weight at ``values[p + shift]``: a side-by-side
    row's ids and weights read from the one array, without slicing it. Each slice is a new
    reference to the array's memory, counted up and down by an atomic instruction: three of
    each per scored document, ~11% of a SciFact query on the Intel Xeon of session 8
    (``reports/index-intel-where-s8.md``). Inlined into the kernels that score documents: as a
    call per document it cost 1.03-1.10x the documents' scoring time on Zen 4
    (``reports/index-zen4-where-s10.md``)."""
    return dot_lanes(terms, values, start, end, query_dense, shift)


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
            return dot_shifted(rows, rows, at, at + n, n, query_dense)

        return side_by_side_dot
    return lambda forward, d, query_dense: dot_dense(
        forward[1], forward[2], forward[0][d], forward[0][d + 1], query_dense
    )


@overload(row_prefetch, inline="always")
def _row_prefetch_overload(forward, d):
    if len(forward) == 2:
        return lambda forward, d: prefetch_range(
            forward[1], 2 * forward[0][d], 2 * forward[0][d + 1], L2
        )

    def two_arrays(forward, d):
        indptr, terms, values = forward
        prefetch_range(terms, indptr[d], indptr[d + 1], L2)
        prefetch_range(values, indptr[d], indptr[d + 1], L2)

    return two_arrays


def row_slices(forward, d):  # pragma: no cover - replaced by the overload in kernels
    """Row ``d``'s term ids and raw weights as two slices of ``forward`` (either layout of
    :func:`row_dot`): what a kernel that reads rows other than to score them uses."""
    raise NotImplementedError("row_slices only runs inside Numba kernels")


@overload(row_slices, inline="always")
def _row_slices_overload(forward, d):
    if len(forward) == 2:

        def side_by_side_slices(forward, d):
            indptr, rows = forward
            at, n = 2 * indptr[d], indptr[d + 1] - indptr[d]
            return rows[at : at + n], rows[at + n : at + 2 * n]

        return side_by_side_slices

    def two_arrays(forward, d):
        indptr, terms, values = forward
        return terms[indptr[d] : indptr[d + 1]], values[indptr[d] : indptr[d + 1]]

    return two_arrays


@njit(nogil=True, cache=True)
def _gather(forward, positions):
    """Rows ``positions`` of ``forward`` (either layout) as CSR: offsets, int32 ids and float32
    weights (float16 bits through :func:`decode`, the value every kernel scores with)."""
    indptr = forward[0]
    out_ptr = np.zeros(len(positions) + 1, dtype=np.int64)
    for i in range(len(positions)):
        out_ptr[i + 1] = out_ptr[i] + indptr[positions[i] + 1] - indptr[positions[i]]
    terms = np.empty(out_ptr[-1], dtype=np.int32)
    values = np.empty(out_ptr[-1], dtype=np.float32)
    for i in range(len(positions)):
        ids, weights = row_slices(forward, positions[i])
        at = out_ptr[i]
        for j in range(len(ids)):
            terms[at + j] = ids[j]
            values[at + j] = decode(weights, j)
    return out_ptr, terms, values


@njit(nogil=True, cache=True)
def _split(indptr, rows):
    """The two arrays (ids, raw weights) of :func:`side_by_side` rows: its inverse."""
    n = len(rows) // 2
    terms, values = np.empty(n, np.uint16), np.empty(n, np.uint16)
    for d in range(len(indptr) - 1):
        at, lo, hi = 2 * indptr[d], indptr[d], indptr[d + 1]
        terms[lo:hi] = rows[at : at + hi - lo]
        values[lo:hi] = rows[at + hi - lo : at + 2 * (hi - lo)]
    return terms, values


@njit(nogil=True, cache=True)
def _term_range(forward):
    """Smallest and largest term id of ``forward`` (either layout); ``(0, -1)`` when empty.
    Its offsets must have been checked: the rows are read without bounds checks."""
    low, high = np.int64(0), np.int64(-1)
    first = True
    for d in range(len(forward[0]) - 1):
        ids, _ = row_slices(forward, d)
        for j in range(len(ids)):
            t = np.int64(ids[j])
            if first or t < low:
                low = t
            if first or t > high:
                high = t
            first = False
    return low, high


def term_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= (1 << 16) else np.dtype(np.int32)


class _Rows:
    """What both layouts give their readers: the rows at any positions, the arrays kernels
    read, the arrays a saved index holds."""

    layout: ClassVar[str]
    indptr: np.ndarray
    value_dtype: str
    vocab_size: int

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.stored().values())

    def stored(self) -> dict[str, np.ndarray]:
        """The arrays of this layout by name (saved as ``forward.<name>``)."""
        raise NotImplementedError

    def kernel_arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays as stored, as the ``forward`` of :func:`row_dot`, :func:`row_prefetch` and
        :func:`row_slices`: ``(indptr, terms, values)`` or ``(indptr, rows)``. No copy."""
        return self.indptr, *(a for name, a in self.stored().items() if name != "indptr")

    def search_arrays(self) -> tuple[np.ndarray, ...]:
        """What the Seismic search kernels read (:meth:`kernel_arrays` unless a layout says
        otherwise)."""
        return self.kernel_arrays()

    def rows_at(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The documents at ``positions`` (valid) as CSR: int64 offsets, int32 term ids and
        float32 weights, exactly the values kernels compute with."""
        positions = np.ascontiguousarray(positions, dtype=np.int64)
        return _gather(self.kernel_arrays(), positions)

    def document(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """Term ids (int32) and weights (float32) of the document at ``position``."""
        _, terms, values = self.rows_at(np.array([position]))
        return terms, values

    def term_range(self) -> tuple[int, int]:
        """Smallest and largest stored term id (``(0, -1)`` without entries); the offsets must
        be valid (:mod:`index.integrity` checks them first)."""
        low, high = _term_range(self.kernel_arrays())
        return int(low), int(high)

    def to_collection(self, ids: list[str], metadata: VectorMetadata) -> SparseCollection:
        """The stored vectors as a collection (weights as the index stores them)."""
        indptr, terms, values = self.rows_at(np.arange(len(self)))
        return SparseCollection(ids, indptr, terms, values, metadata)


@dataclass
class ForwardIndex(_Rows):
    """Documents in CSR layout: ``indptr`` (int64), ``terms``, ``values`` (raw storage): the
    layout the build makes and reads, and that other widths than u16 + float16 keep."""

    layout: ClassVar[str] = TWO_ARRAYS
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

    def stored(self) -> dict[str, np.ndarray]:
        return {"indptr": self.indptr, "terms": self.terms, "values": self.values}

    @property
    def two_bytes(self) -> bool:
        """Ids and weights both 2 bytes wide: the rows can lie side by side."""
        return self.terms.itemsize == 2 and self.values.itemsize == 2

    def search_arrays(self) -> tuple[np.ndarray, ...]:
        """``(indptr, rows)`` from :func:`side_by_side` when ids and weights are both 2 bytes
        wide (a copy as large as ``terms`` and ``values`` together: what an index read from
        format 3 searches), ``(indptr, terms, values)`` otherwise."""
        if self.two_bytes:
            return self.indptr, side_by_side(self.indptr, self.terms, self.values)
        return self.kernel_arrays()

    def to_side_by_side(self) -> SideBySideForward | ForwardIndex:
        """The layout a built index keeps and saves: side by side when both are 2 bytes wide (a
        copy), else this one."""
        if not self.two_bytes:
            return self
        rows = side_by_side(self.indptr, self.terms, self.values)
        return SideBySideForward(self.indptr, rows, self.value_dtype, self.vocab_size)

    def to_two_arrays(self) -> ForwardIndex:
        return self

    def float_values(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Weights ``start:stop`` (all by default) as float32, exactly the values kernels
        compute with."""
        values = self.values[start:stop]
        if self.value_dtype == "float16":
            return values.view(np.float16).astype(np.float32)
        return np.asarray(values, dtype=np.float32)


@dataclass
class SideBySideForward(_Rows):
    """Documents with each row's u16 term ids and float16 weight bits side by side in one uint16
    array, ``rows`` (:func:`side_by_side`): what search reads, and what a format 4 index saves."""

    layout: ClassVar[str] = SIDE_BY_SIDE
    indptr: np.ndarray
    rows: np.ndarray
    value_dtype: str
    vocab_size: int

    def stored(self) -> dict[str, np.ndarray]:
        return {"indptr": self.indptr, "rows": self.rows}

    def to_side_by_side(self) -> SideBySideForward:
        return self

    def to_two_arrays(self) -> ForwardIndex:
        """The two arrays, a copy (for code that reads ``terms`` and ``values`` whole)."""
        terms, values = _split(self.indptr, self.rows)
        return ForwardIndex(self.indptr, terms, values, self.value_dtype, self.vocab_size)


#: Either layout: what every reader of a forward index takes.
Forward = ForwardIndex | SideBySideForward


def load_forward(
    arrays: dict[str, np.ndarray], layout: str, value_dtype: str, vocab_size: int
) -> Forward:
    """The forward index of a saved index's arrays (``forward.<name>``) in ``layout`` (a
    manifest's ``forward_layout``); a missing array raises :class:`KeyError` with its name."""
    if layout not in LAYOUTS:
        raise InputError(f"forward_layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")
    kind = ForwardIndex if layout == TWO_ARRAYS else SideBySideForward
    names = [f.name for f in fields(kind) if f.name not in ("value_dtype", "vocab_size")]
    return kind(*(arrays[f"forward.{name}"] for name in names), value_dtype, vocab_size)
