"""Software prefetch for Numba kernels: ask the CPU to start loading memory we will read soon.

Seismic scores the documents of a block in a row, and each one sits at a random place in a
forward index far larger than the CPU caches: read one after the other, every document costs a
full memory round trip. The reference (``evaluate_posting_block`` in ``posting_list.rs``) first
prefetches every unvisited document of the block and only then scores them, so the loads
overlap. Numba exposes no prefetch, so :func:`prefetch_range` emits LLVM's ``llvm.prefetch``
intrinsic directly (read, data cache), one per 64-byte cache line, with a temporal locality the
caller picks: :data:`EVERY_LEVEL` (``prefetcht0`` on x86) or :data:`L2` (``prefetcht1``).

The rows of a block's documents are prefetched into L2 (:func:`index.forward.row_prefetch`): all
of a block's rows are requested before the first is scored, so into L1 they would evict one
another and the query's own hot data. On the Intel Xeon of session 9 a 1M-document search
(n_postings 3500, query_cut 10, heap_factor 1.0, global order, 200 queries) took 0.96x the time
with L2 (median of 7 interleaved rounds, load ~5), a 200k one 0.97x, SciFact (rows mostly from
L3) 1.01x, within the noise of two identical runs (0.006): ``reports/big17-where-1m.md``.
"""

from __future__ import annotations

from llvmlite import ir
from numba import errors, njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

#: Bytes of a cache line on x86-64 and most ARM cores.
CACHE_LINE = 64
#: LLVM's temporal locality hints: keep the line in every cache level, or in L2 and below.
EVERY_LEVEL, L2 = 3, 2


@intrinsic
def _prefetch(typingctx, array, position, locality):
    """Prefetch the cache line holding ``array[position]`` with temporal ``locality`` (a
    constant: :data:`EVERY_LEVEL` or :data:`L2`); no bounds check, no effect on results."""
    if not isinstance(locality, types.IntegerLiteral):
        raise errors.RequireLiteralValue(locality)
    level = locality.literal_value

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, view, [args[1]], wraparound=False
        )
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
            "llvm.prefetch.p0",
        )
        # rw=0 (read), the locality, cache type=1 (data).
        builder.call(
            function,
            [builder.bitcast(pointer, byte_pointer), int32(0), int32(level), int32(1)],
        )
        return context.get_dummy_value()

    return types.void(array, position, locality), codegen


@njit(nogil=True, cache=True, inline="always")
def prefetch_at(array, position):
    """Prefetch the cache line holding ``array[position]`` (a hint: never faults, whatever the
    position)."""
    _prefetch(array, position, EVERY_LEVEL)


def prefetch_range(array, start, end, locality):  # pragma: no cover - replaced in kernels
    """Prefetch every cache line of ``array[start:end]`` (nothing when it is empty) with
    ``locality`` (:data:`EVERY_LEVEL` or :data:`L2`)."""
    raise NotImplementedError("prefetch_range only runs inside Numba kernels")


@overload(prefetch_range, inline="always")
def _prefetch_range_overload(array, start, end, locality):
    """The loop with its step, elements a line, fixed when compiled. Computed at run time from
    ``array.itemsize`` (a field of Numba's array, not a constant), it cost a division per row
    and a ``range`` of unknown step: a 1M-document search took 0.93x the time with the step
    fixed (``reports/big17-where-1m.md``)."""
    step = max(1, CACHE_LINE // (array.dtype.bitwidth // 8))

    def prefetch_lines(array, start, end, locality):
        for p in range(start, end, step):
            _prefetch(array, p, locality)
        if end > start:  # the last line, when ``start`` is not at a line boundary
            _prefetch(array, end - 1, locality)

    return prefetch_lines
