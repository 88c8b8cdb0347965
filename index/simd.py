"""The dot product's vector part, written as LLVM IR because Numba will not vectorize it.

Scoring a document is ``sum(query_dense[terms[p]] * weight[p])`` over its entries. Numba compiles
floating-point sums in program order, so LLVM may not reorder the additions and leaves the loop
scalar. The reference (Rust, ``algebraic_add``) lets the compiler reassociate, which makes its
scores depend on the compiler's choices. Here the order is chosen once and written out as
vector code: eight lanes, entry ``p`` added to lane ``(p - start) % 8``, lanes summed pairwise
at the end. Each lane is a plain sequence of IEEE multiplications and additions, so the result
is the same bit for bit on any CPU, vector unit or not (checked in the tests against a plain
Python loop in that order), and the kernels that score documents agree exactly.

Per 8 entries: the eight query weights of the entries' terms, one vector load of weights
(float16 bits are widened in-register as in :func:`index.forward.half_to_float`), one vector
multiply and one vector add. The query's lanes are loaded one of two ways, chosen when the
kernels are compiled (:func:`lane_loads`), with the same sums in the same lanes, so the same
bits either way:

- ``insert``: eight scalar loads of term ids and eight from the dense query, inserted into one
  vector. Fastest on AMD Zen 4 and 5, where inserts are cheap: 1.46x faster than four scalar
  partial sums on SPLADE-like documents, and loading the term ids as scalars rather than as
  one vector made it 1.22x faster again on Zen 5 (the scored documents of SciFact's queries,
  0.535 -> 0.437 ns an entry). On Zen 4 (family 25 model 17, ``znver4``) the gather took
  1.14-1.27x the inserts' time over the documents SciFact's, Vaswani's and Cranfield's queries
  score (one process, alternating rounds: ``reports/index-zen4-where-s10.md``).
- ``gather``: the eight ids as one vector load, widened to 32 bits, and one AVX2 gather
  (``vgatherdps``). Intel cores have one port for the inserts' shuffles and fast gathers: on
  the Xeon of session 8 (family 6 model 167, LLVM ``rocketlake``) 0.311 against 0.359 ns an
  entry (5,000 documents of ~250 entries, hot; the lead's ``dotbench``), and
  ``reports/index-intel-where-s8.md`` for whole searches.

``LSR_DOT_LANES=insert`` or ``gather`` forces either (``gather`` needs AVX2 on the CPU Numba
compiles for); the cached kernels of each live apart (:mod:`index.numba_cache`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from llvmlite import binding, ir
from numba import types
from numba.core import config
from numba.extending import intrinsic

from lsr.errors import InputError

#: Lanes of the partial sums (256-bit vectors of float32).
LANES = 8

_FLOAT16_REBIAS = float(2.0**112)

#: The environment variable that forces how the query's lanes are loaded (module docstring).
LANE_LOADS_ENV = "LSR_DOT_LANES"
LANE_LOADS = ("insert", "gather")


def _target_cpu() -> tuple[str, str]:
    """Name and features of the CPU Numba compiles for (its ``NUMBA_CPU_NAME`` /
    ``NUMBA_CPU_FEATURES`` if set, else the host's)."""
    name = config.CPU_NAME or binding.get_host_cpu_name()
    features = config.CPU_FEATURES or binding.get_host_cpu_features().flatten()
    return name, features


@cache
def lane_loads() -> str:
    """``insert`` or ``gather``: :data:`LANE_LOADS_ENV` if set, else ``gather`` where the target
    has AVX2 and is not an AMD Zen (whose fast inserts were measured the better there: Zen 4
    and Zen 5)."""
    forced = os.environ.get(LANE_LOADS_ENV, "auto")
    name, features = _target_cpu()
    avx2 = "+avx2" in features.split(",")
    if forced == "auto":
        return "gather" if avx2 and not name.startswith("znver") else "insert"
    if forced not in LANE_LOADS:
        raise InputError(f"{LANE_LOADS_ENV} must be auto, insert or gather; got {forced!r}")
    if forced == "gather" and not avx2:
        raise InputError(f"{LANE_LOADS_ENV}=gather needs AVX2; the target CPU {name!r} has none")
    return forced


def _query_by_inserts(builder, term_data, query_data, position, widen):
    """The query's lanes from eight scalar id loads and eight inserts (``insert``)."""
    int64 = ir.IntType(64)
    positions = [builder.add(position, int64(lane)) for lane in range(LANES)]
    return _inserted_query(builder, term_data, query_data, positions, widen)


def _inserted_query(builder, term_data, query_data, positions, widen):
    """The query weights of the terms at ``positions`` (one a lane), each id a scalar load.

    Each term id is its own scalar load, which widens it for free (movzx): loaded as one vector,
    the ids would each need an extract (a shuffle-port instruction), and with the query's inserts
    those shuffles bounded the loop (1.22x slower on Zen 5, measured)."""
    int32, int64 = ir.IntType(32), ir.IntType(64)
    query = ir.Constant(ir.VectorType(ir.FloatType(), LANES), None)
    for lane, at in enumerate(positions):
        term = builder.load(builder.gep(term_data, [at]))
        query = builder.insert_element(
            query, builder.load(builder.gep(query_data, [widen(term, int64)])), int32(lane)
        )
    return query


def _query_by_gather(builder, term_data, query_data, position, widen, inside=None):
    """The query's lanes from one vector load of ids and one AVX2 gather (``gather``); with
    ``inside`` (a lane mask) only those lanes are loaded, the others zero."""
    int8, int32 = ir.IntType(8), ir.IntType(32)
    lanes, indices = ir.VectorType(ir.FloatType(), LANES), ir.VectorType(int32, LANES)
    ids = _load_lanes(builder, term_data, position, term_data.type.pointee)
    if ids.type.element.width < 32:
        ids = widen(ids, indices)
    gather = builder.module.declare_intrinsic(
        "llvm.x86.avx2.gather.d.ps.256",
        fnty=ir.FunctionType(lanes, [lanes, int8.as_pointer(), indices, lanes, int8]),
    )
    if inside is None:
        inside = ir.Constant(ir.VectorType(ir.IntType(1), LANES), [1] * LANES)
    mask = builder.bitcast(builder.sext(inside, indices), lanes)  # the lanes' sign bits
    base = builder.bitcast(query_data, int8.as_pointer())
    return builder.call(gather, [ir.Constant(lanes, None), base, ids, mask, int8(4)])


def _gatherable(terms, query_dense) -> bool:
    """Whether ``vgatherdps`` can load these lanes: ids 16 or 32 bits wide, a float32 query."""
    return (
        isinstance(terms.dtype, types.Integer)
        and terms.dtype.bitwidth in (16, 32)
        and query_dense.dtype == types.float32
    )


def _dot_lanes(loads):
    """:func:`dot_lanes` whose query lanes are loaded by ``loads`` (``insert``, ``gather``, or
    ``None``: :func:`lane_loads`' choice, by inserts where the types cannot be gathered)."""

    def dot_lanes(typingctx, terms, values, start, end, query_dense, shift):
        """Sum of ``query_dense[terms[p]] * values[p + shift]`` over ``[start, end)``, in the
        lane order of the module docstring.

        ``values`` are float32, or float16 bit patterns in uint16; all arrays are contiguous.
        ``shift`` lets one array hold both (a side-by-side row, :mod:`index.forward`).
        """
        arrays = (terms, values, query_dense)
        if not all(isinstance(a, types.Array) and a.ndim == 1 and a.layout in "CF" for a in arrays):
            return None
        gathering = (loads or lane_loads()) == "gather" and _gatherable(terms, query_dense)
        if loads == "gather" and not gathering:
            return None
        query_lanes = _query_by_gather if gathering else _query_by_inserts
        signature = types.float32(terms, values, start, end, query_dense, shift)
        return signature, _codegen(query_lanes)

    return intrinsic(dot_lanes)


def _codegen(query_lanes):
    def codegen(context, builder, signature, args):
        terms_type, values_type, _, _, query_type, _ = signature.args
        terms = context.make_array(terms_type)(context, builder, args[0])
        values = context.make_array(values_type)(context, builder, args[1])
        query_data = context.make_array(query_type)(context, builder, args[4]).data
        arrays = _Arrays(terms.data, values.data, query_data, terms.nitems, values.nitems)
        int64, float32 = ir.IntType(64), ir.FloatType()
        lanes = ir.VectorType(float32, LANES)
        start_at, end_at, shift = (_as_int64(builder, args[i]) for i in (2, 3, 5))
        whole = builder.and_(builder.sub(end_at, start_at), int64(-LANES))
        stop_at = builder.add(start_at, whole)
        widen = builder.sext if terms_type.dtype.signed else builder.zext

        entry = builder.block
        loop = builder.append_basic_block("dot.loop")
        body = builder.append_basic_block("dot.body")
        tail = builder.append_basic_block("dot.tail")
        done = builder.append_basic_block("dot.done")
        builder.branch(loop)

        builder.position_at_end(loop)
        position = builder.phi(int64)
        sums = builder.phi(lanes)
        position.add_incoming(start_at, entry)
        sums.add_incoming(ir.Constant(lanes, None), entry)
        builder.cbranch(builder.icmp_signed("<", position, stop_at), body, tail)

        builder.position_at_end(body)
        query = query_lanes(builder, arrays.terms, arrays.query, position, widen)
        weights = _load_lanes(
            builder, arrays.values, builder.add(position, shift), arrays.values.type.pointee
        )
        position.add_incoming(builder.add(position, int64(LANES)), body)
        sums.add_incoming(_add_products(builder, sums, query, weights), body)
        builder.branch(loop)

        builder.position_at_end(tail)
        remaining = builder.sub(end_at, stop_at)
        with builder.if_then(builder.icmp_signed(">", remaining, int64(0))):
            tail_sums = _tail(builder, arrays, stop_at, end_at, shift, sums, query_lanes, widen)
            with_tail = builder.block
        total = builder.phi(lanes)
        total.add_incoming(sums, tail)
        total.add_incoming(tail_sums, with_tail)
        builder.branch(done)

        builder.position_at_end(done)
        return _sum_pairwise(builder, total)

    return codegen


@dataclass(frozen=True)
class _Arrays:
    """Data pointers of the dot product's arrays, and the lengths of the row's two."""

    terms: ir.Value
    values: ir.Value
    query: ir.Value
    n_terms: ir.Value
    n_values: ir.Value


def _add_products(builder, sums, query, weights):
    """``sums + query * weights``, float16 weight bits widened first."""
    if isinstance(weights.type.element, ir.IntType):
        weights = _widen_float16(builder, weights)
    return builder.fadd(sums, builder.fmul(query, weights))


def _sum_pairwise(builder, sums):
    """The lanes of ``sums`` added pairwise: (0 + 1) + (2 + 3), and so on up the tree."""
    int32 = ir.IntType(32)
    partial = [builder.extract_element(sums, int32(lane)) for lane in range(LANES)]
    while len(partial) > 1:
        partial = [builder.fadd(partial[i], partial[i + 1]) for i in range(0, len(partial), 2)]
    return partial[0]


def _tail(builder, arrays, stop_at, end_at, shift, sums, query_lanes, widen):
    """``sums`` plus the last ``end - stop`` (1 to 7) entries, entry ``stop + i`` in lane ``i``:
    one more vector step whose lanes past the row's end add ``+0.0``, which leaves every lane
    as it was (a lane starts at ``+0.0`` and is never ``-0.0``).

    Added one by one after the lanes' sum, as before, these entries were a chain of dependent
    additions: 7-9 ns of a document's 48-57 on the Intel Xeon of session 17 (Vaswani's rows,
    88 entries on average, 3.5 of them past the last whole group). Where both vectors lie inside
    their arrays they are loaded whole and the query gathered under a mask (``gather``);
    otherwise (inserts, or the array's last entries) each lane reads entry ``min(stop + i, end -
    1)``, inside the row, and the lanes past its end get weight zero."""
    int32, int64 = ir.IntType(32), ir.IntType(64)
    remaining = builder.trunc(builder.sub(end_at, stop_at), int32)
    indices = ir.VectorType(int32, LANES)
    inside = builder.icmp_signed(
        "<", ir.Constant(indices, list(range(LANES))), _splat(builder, remaining, indices)
    )
    weight_type = arrays.values.type.pointee
    if query_lanes is _query_by_gather:
        fits = builder.and_(
            builder.icmp_signed("<=", builder.add(stop_at, int64(LANES)), arrays.n_terms),
            builder.icmp_signed(
                "<=", builder.add(builder.add(stop_at, shift), int64(LANES)), arrays.n_values
            ),
        )
        with builder.if_else(fits) as (whole, clamped):
            with whole:
                query_w = _query_by_gather(
                    builder, arrays.terms, arrays.query, stop_at, widen, inside
                )
                weights_w = _load_lanes(
                    builder, arrays.values, builder.add(stop_at, shift), weight_type
                )
                from_whole = builder.block
            with clamped:
                query_c, weights_c = _clamped_lanes(builder, arrays, stop_at, end_at, shift, widen)
                from_clamped = builder.block
        query = builder.phi(query_w.type)
        query.add_incoming(query_w, from_whole)
        query.add_incoming(query_c, from_clamped)
        weights = builder.phi(weights_w.type)
        weights.add_incoming(weights_w, from_whole)
        weights.add_incoming(weights_c, from_clamped)
    else:
        query, weights = _clamped_lanes(builder, arrays, stop_at, end_at, shift, widen)
    # Zero weights past the end: 0 * any finite query weight is a zero (the gather's masked
    # lanes are zero already), and garbage bits past a row could be a NaN's.
    weights = builder.select(inside, weights, ir.Constant(weights.type, None))
    return _add_products(builder, sums, query, weights)


def _clamped_lanes(builder, arrays, stop_at, end_at, shift, widen):
    """Query and weight lanes of entries ``min(stop + i, end - 1)``, each a scalar load."""
    int32, int64 = ir.IntType(32), ir.IntType(64)
    last = builder.sub(end_at, int64(1))
    positions = []
    for lane in range(LANES):
        wanted = builder.add(stop_at, int64(lane))
        positions.append(builder.select(builder.icmp_signed("<", wanted, last), wanted, last))
    query = _inserted_query(builder, arrays.terms, arrays.query, positions, widen)
    weights = ir.Constant(ir.VectorType(arrays.values.type.pointee, LANES), None)
    for lane, at in enumerate(positions):
        weight = builder.load(builder.gep(arrays.values, [builder.add(at, shift)]))
        weights = builder.insert_element(weights, weight, int32(lane))
    return query, weights


def _splat(builder, value, vector_type):
    """``value`` in every lane of ``vector_type``."""
    lanes = ir.Constant(vector_type, None)
    for lane in range(LANES):
        lanes = builder.insert_element(lanes, value, ir.IntType(32)(lane))
    return lanes


#: The dot product's vector part as the target CPU loads it best (:func:`lane_loads`).
dot_lanes = _dot_lanes(None)
#: Each way forced, whatever the CPU (tests; ``gather`` needs AVX2 to run).
dot_lanes_insert = _dot_lanes("insert")
dot_lanes_gather = _dot_lanes("gather")


def _as_int64(builder, value):
    """A signed integer argument (a position or a shift) widened to 64 bits."""
    return builder.sext(value, ir.IntType(64)) if value.type.width < 64 else value


def _load_lanes(builder, data, position, element_type):
    """The :data:`LANES` elements of ``data`` from ``position`` as one vector (unaligned load)."""
    pointer = builder.bitcast(
        builder.gep(data, [position]), ir.VectorType(element_type, LANES).as_pointer()
    )
    return builder.load(pointer, align=1)


def _widen_float16(builder, bits):
    """float32 lanes of non-negative float16 bit patterns (see ``half_to_float``)."""
    int32_lanes = ir.VectorType(ir.IntType(32), LANES)
    widened = builder.zext(bits, int32_lanes)
    widened = builder.and_(widened, ir.Constant(int32_lanes, [0x7FFF] * LANES))
    widened = builder.shl(widened, ir.Constant(int32_lanes, [13] * LANES))
    float_lanes = ir.VectorType(ir.FloatType(), LANES)
    rebias = ir.Constant(float_lanes, [_FLOAT16_REBIAS] * LANES)
    return builder.fmul(builder.bitcast(widened, float_lanes), rebias)


@intrinsic
def popcount(typingctx, word):
    """Set bits of a 64-bit word (LLVM's ``ctpop``: one ``popcnt`` where the CPU has it), for
    the rank of a term in a summary directory's bitmap (:mod:`index.summary`)."""
    if not isinstance(word, types.Integer) or word.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        count = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(count, [args[0]])

    return types.int64(word), codegen


@intrinsic
def trailing_zeros(typingctx, word):
    """Zero bits below the lowest set bit of a 64-bit word (LLVM's ``cttz``: one ``tzcnt``), to
    walk the set bits of a summary component's block mask (:mod:`index.summary`). Undefined for
    zero, which its callers never pass."""
    if not isinstance(word, types.Integer) or word.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        count = builder.module.declare_intrinsic("llvm.cttz", [ir.IntType(64), ir.IntType(1)])
        return builder.call(count, [args[0], ir.Constant(ir.IntType(1), 1)])

    return types.int64(word), codegen
