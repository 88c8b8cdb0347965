"""Software prefetch for Numba kernels: ask the CPU to start loading memory we will read soon.

Seismic scores the documents of a block in a row, and each one sits at a random place in a
forward index far larger than the CPU caches: read one after the other, every document costs a
full memory round trip. The reference (``evaluate_posting_block`` in ``posting_list.rs``) first
prefetches every unvisited document of the block and only then scores them, so the loads
overlap. Numba exposes no prefetch, so :func:`prefetch_range` emits LLVM's ``llvm.prefetch``
intrinsic directly (read, high temporal locality, data cache), one per 64-byte cache line.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: Bytes of a cache line on x86-64 and most ARM cores.
CACHE_LINE = 64


@intrinsic
def _prefetch(typingctx, array, position):
    """Prefetch the cache line holding ``array[position]`` (no bounds check, no effect on results)."""

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
        # rw=0 (read), locality=3 (keep in every cache level), cache type=1 (data).
        builder.call(
            function, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3), int32(1)]
        )
        return context.get_dummy_value()

    return types.void(array, position), codegen


@njit(nogil=True, cache=True, inline="always")
def prefetch_at(array, position):
    """Prefetch the cache line holding ``array[position]`` (a hint: never faults, whatever the
    position)."""
    _prefetch(array, position)


@njit(nogil=True, cache=True, inline="always")
def prefetch_range(array, start, end):
    """Prefetch every cache line of ``array[start:end]`` (nothing when it is empty)."""
    step = max(1, CACHE_LINE // array.itemsize)
    for p in range(start, end, step):
        _prefetch(array, p)
    if end > start:  # the last line, when ``start`` is not at a line boundary
        _prefetch(array, end - 1)
