"""Block summaries: the vector a query is compared with to decide whether to visit a block.

Seismic, Section 4.3 (reference: ``energy_preserving_summary`` in ``inverted_index.rs`` and
``quantized_summary.rs``):

- the summary of a block is the coordinate-wise maximum of its documents, so that its inner
  product with a (non-negative) query bounds the score of every document in the block;
- it keeps only its largest entries, the shortest prefix by decreasing value whose sum reaches
  ``summary_energy`` of the total (the entry that crosses the threshold is kept): this trades the
  bound for size, and ``heap_factor`` at query time compensates;
- its values are scalar-quantized to uint8 per summary: ``code = round((v - min) / scale)`` with
  ``scale = (max - min) / 255``, read back as ``code * scale + min``.

Layout: the summaries of one posting list are stored *term-major* (an inverted index over the
list's blocks), so that a query scores all blocks of a list in one pass over its own terms:
for a query term, find it among the list's summary terms (``comp_terms``) and add
``weight * dequantized value`` to each block listed for it (``entry_block``, ``entry_code``).
Block numbers are local to the list (uint16); ``block_min`` / ``block_scale`` are global, per
block.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numba import njit, prange

from index.forward import ForwardIndex, decode
from index.postings import PostingLists, offsets_dtype

QUANT_LEVELS = np.float32(255.0)


@njit(nogil=True, cache=True)
def quantize(values):
    """uint8 codes, minimum and scale of a summary's values (as the reference computes them)."""
    low = values.min()
    scale = (values.max() - low) / QUANT_LEVELS
    codes = np.zeros(len(values), dtype=np.uint8)
    if scale > 0:
        for i in range(len(values)):
            # floor(x + 0.5): Rust's round() for the non-negative values here.
            codes[i] = np.uint8(np.floor((values[i] - low) / scale + np.float32(0.5)))
    return codes, low, scale


#: Value buckets of :func:`energy_cut`: the entries of one bucket are the only ones sorted.
ENERGY_BUCKETS = 256


@njit(nogil=True, cache=True, inline="always")
def _bucket(weight, scale):
    return min(ENERGY_BUCKETS - 1, np.int64(weight * scale))


@njit(nogil=True, cache=True)
def energy_cut(weights, summary_energy):
    """Positions of the summary's kept entries: the largest weights, by decreasing value, up to
    and including the one whose running sum reaches ``summary_energy`` of the total.

    Sorting a whole block (thousands of entries) per summary would dominate the build, so the
    weights are first bucketed by value: buckets above the crossing one are kept whole and only
    the crossing bucket is sorted (ties: first position first). Sums are float32, so a weight
    exactly at the boundary may fall either side of it, by rounding.
    """
    n = len(weights)
    top = np.float32(0.0)
    total = np.float32(0.0)
    for w in weights:
        total += w
        top = max(top, w)
    until = total * np.float32(summary_energy)
    if not top > 0:  # only float16 underflow gives zero weights: nothing to order
        return np.arange(n)
    scale = np.float32(ENERGY_BUCKETS) / top
    bucket_sum = np.zeros(ENERGY_BUCKETS, dtype=np.float32)
    for w in weights:
        bucket_sum[_bucket(w, scale)] += w
    acc = np.float32(0.0)
    crossing = ENERGY_BUCKETS - 1
    while crossing > 0 and acc + bucket_sum[crossing] < until:
        acc += bucket_sum[crossing]
        crossing -= 1
    kept = np.empty(n, dtype=np.int64)
    n_kept = 0
    for i in range(n):
        if _bucket(weights[i], scale) > crossing:
            kept[n_kept] = i
            n_kept += 1
    # Float rounding may leave the running sum short of ``until`` after the crossing bucket:
    # then the next buckets down are taken the same way.
    for b in range(crossing, -1, -1):
        members = np.empty(n, dtype=np.int64)
        n_members = 0
        for i in range(n):
            if _bucket(weights[i], scale) == b:
                members[n_members] = i
                n_members += 1
        members = members[:n_members]
        for m in members[np.argsort(-weights[members], kind="mergesort")]:
            kept[n_kept] = m
            n_kept += 1
            acc += weights[m]
            if not acc < until:
                return kept[:n_kept]
    return kept[:n_kept]


@njit(nogil=True, cache=True)
def block_summary(docs, indptr, terms, values, summary_energy, best, touched):
    """Terms and float32 values of a block's energy-cut coordinate-wise maximum (terms in order
    of first appearance).

    ``best`` is vocabulary-sized scratch holding -1 everywhere (restored on exit); ``touched``
    has room for every entry of the block.
    """
    n_touched = 0
    for d in docs:
        for p in range(indptr[d], indptr[d + 1]):
            t = terms[p]
            if best[t] < 0:
                touched[n_touched] = t
                n_touched += 1
            w = decode(values, p)
            if w > best[t]:
                best[t] = w
    components = touched[:n_touched]
    weights = np.empty(n_touched, dtype=np.float32)
    for i in range(n_touched):
        weights[i] = best[components[i]]
        best[components[i]] = -1.0
    kept = energy_cut(weights, summary_energy)
    return components[kept], weights[kept]


@njit(nogil=True, cache=True)
def _summarize_list(
    docs, block_sizes, indptr, terms, values, summary_energy, best, touched,
    comp_terms, comp_counts, entry_block, entry_code, block_min, block_scale,
):  # fmt: skip
    """Summaries of one list, written term-major; returns (number of terms, number of entries)."""
    n_entries = 0
    start = 0
    for b in range(len(block_sizes)):
        components, weights = block_summary(
            docs[start : start + block_sizes[b]], indptr, terms, values, summary_energy,
            best, touched,
        )  # fmt: skip
        start += block_sizes[b]
        codes, block_min[b], block_scale[b] = quantize(weights)
        for i in range(len(components)):
            comp_terms[n_entries + i] = components[i]
            entry_block[n_entries + i] = b
            entry_code[n_entries + i] = codes[i]
        n_entries += len(components)
    # Block-major to term-major: a stable sort by term keeps blocks increasing within a term.
    order = np.argsort(comp_terms[:n_entries], kind="mergesort")
    sorted_terms = comp_terms[:n_entries][order]
    blocks = entry_block[:n_entries][order]
    codes = entry_code[:n_entries][order]
    n_comps = 0
    for i in range(n_entries):
        entry_block[i] = blocks[i]
        entry_code[i] = codes[i]
        if i == 0 or sorted_terms[i] != sorted_terms[i - 1]:
            comp_terms[n_comps] = sorted_terms[i]
            comp_counts[n_comps] = 0
            n_comps += 1
        comp_counts[n_comps - 1] += 1
    return n_comps, n_entries


@njit(nogil=True, cache=True, parallel=True)
def summarize_lists(
    lists, list_offsets, list_docs, list_block_ptr, block_sizes, scratch_base, indptr, terms,
    values, summary_energy, vocab_size, max_block_nnz,
    comp_terms, comp_counts, entry_block, entry_code, block_min, block_scale, n_comps, n_entries,
):  # fmt: skip
    """Summaries of the lists ``lists``, each into its scratch region ``scratch_base[i]:[i+1]``.

    Every list runs on one thread, writing term-major results at the start of its region;
    ``n_comps`` / ``n_entries`` receive how much of each region is used.
    """
    for i in prange(len(lists)):
        t = lists[i]
        lo, hi = scratch_base[i], scratch_base[i + 1]
        b0, b1 = list_block_ptr[t], list_block_ptr[t + 1]
        best = np.full(vocab_size, -1.0, dtype=np.float32)
        touched = np.empty(max_block_nnz[i], dtype=np.int64)
        n_comps[i], n_entries[i] = _summarize_list(
            list_docs[list_offsets[t] : list_offsets[t + 1]], block_sizes[b0:b1], indptr, terms,
            values, summary_energy, best, touched, comp_terms[lo:hi], comp_counts[lo:hi],
            entry_block[lo:hi], entry_code[lo:hi], block_min[b0:b1], block_scale[b0:b1],
        )  # fmt: skip


@njit(nogil=True, cache=True)
def score_summaries(
    b0, b1, c0, c1, comp_terms, comp_entry_ptr, entry_block, entry_code, block_min, block_scale,
    q_terms, q_weights, out,
):  # fmt: skip
    """Inner product of the query with every summary of one list (blocks ``b0:b1``) into
    ``out[:b1 - b0]``: one pass over the query terms, each found by binary search among the
    list's summary terms ``comp_terms[c0:c1]`` (both sorted, so the search range shrinks)."""
    for b in range(b1 - b0):
        out[b] = 0.0
    lo = c0
    for j in range(len(q_terms)):
        t = q_terms[j]
        hi = c1
        while lo < hi:
            mid = (lo + hi) >> 1
            if comp_terms[mid] < t:
                lo = mid + 1
            else:
                hi = mid
        if lo == c1:
            return
        if comp_terms[lo] != t:
            continue
        w = q_weights[j]
        for e in range(comp_entry_ptr[lo], comp_entry_ptr[lo + 1]):
            b = entry_block[e]
            out[b] += (np.float32(entry_code[e]) * block_scale[b0 + b] + block_min[b0 + b]) * w
        lo += 1


#: Scratch entries per summarization batch (7 bytes each): bounds the extra memory of a build.
BATCH_ENTRIES = 1 << 22


@dataclass
class Summaries:
    """Quantized summaries of every block, term-major per list (see the module docstring)."""

    list_comp_ptr: np.ndarray
    comp_terms: np.ndarray
    comp_entry_ptr: np.ndarray
    entry_block: np.ndarray
    entry_code: np.ndarray
    block_min: np.ndarray
    block_scale: np.ndarray

    @property
    def n_entries(self) -> int:
        return len(self.entry_code)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))


def _segment_sums(values: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    total = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=total[1:])
    return total[ptr[1:]] - total[ptr[:-1]]


def _batches(bounds: np.ndarray) -> list[np.ndarray]:
    """Consecutive non-empty lists grouped so that each group's scratch fits ``BATCH_ENTRIES``
    (a list larger than that is a group of its own)."""
    lists = np.flatnonzero(bounds)
    groups, start, filled = [], 0, 0
    for i, t in enumerate(lists):
        if filled and filled + bounds[t] > BATCH_ENTRIES:
            groups.append(lists[start:i])
            start, filled = i, 0
        filled += int(bounds[t])
    groups.append(lists[start:])
    return [g for g in groups if len(g)]


def build_summaries(
    forward: ForwardIndex, postings: PostingLists, summary_energy: float
) -> Summaries:
    """Summaries of all blocks, computed in parallel batches of lists."""
    vocab = forward.vocab_size
    doc_nnz = np.diff(forward.indptr)[postings.post_docs]
    block_nnz = _segment_sums(doc_nnz, postings.block_ptr)
    bounds = _segment_sums(np.minimum(block_nnz, vocab), postings.list_block_ptr)
    n_lists = len(postings.list_block_ptr) - 1
    list_offsets = postings.block_ptr[postings.list_block_ptr]
    block_sizes = np.diff(postings.block_ptr).astype(np.int64)
    block_min = np.zeros(postings.n_blocks, dtype=np.float32)
    block_scale = np.zeros(postings.n_blocks, dtype=np.float32)
    comps_per_list = np.zeros(n_lists, dtype=np.int64)
    parts: list[tuple[np.ndarray, ...]] = []
    for lists in _batches(bounds):
        scratch_base = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(bounds[lists], out=scratch_base[1:])
        size = int(scratch_base[-1])
        comp_terms = np.empty(size, dtype=forward.terms.dtype)
        # A term occurs in at most one entry per block, and a list has at most 65,535 blocks.
        comp_counts = np.empty(size, dtype=np.uint16)
        entry_block = np.empty(size, dtype=np.uint16)
        entry_code = np.empty(size, dtype=np.uint8)
        n_comps = np.zeros(len(lists), dtype=np.int64)
        n_entries = np.zeros(len(lists), dtype=np.int64)
        max_block_nnz = np.array(
            [
                block_nnz[postings.list_block_ptr[t] : postings.list_block_ptr[t + 1]].max()
                for t in lists
            ],
            dtype=np.int64,
        )
        summarize_lists(
            lists, list_offsets, postings.post_docs, postings.list_block_ptr, block_sizes,
            scratch_base, forward.indptr, forward.terms, forward.values,
            summary_energy, vocab, max_block_nnz, comp_terms, comp_counts, entry_block,
            entry_code, block_min, block_scale, n_comps, n_entries,
        )  # fmt: skip
        comps_per_list[lists] = n_comps
        keep_comps = _ranges(scratch_base[:-1], n_comps)
        keep_entries = _ranges(scratch_base[:-1], n_entries)
        parts.append(
            (
                comp_terms[keep_comps],
                comp_counts[keep_comps],
                entry_block[keep_entries],
                entry_code[keep_entries],
            )
        )
    # One column at a time, freeing its parts: the build never holds two copies of the summaries.
    columns = [list(column) for column in zip(*parts)] if parts else [[], [], [], []]
    del parts
    comp_terms, comp_counts, entry_block, entry_code = (
        _concatenate(columns, i, dtype)
        for i, dtype in enumerate((forward.terms.dtype, np.uint16, np.uint16, np.uint8))
    )
    list_comp_ptr = np.zeros(n_lists + 1, dtype=np.int64)
    np.cumsum(comps_per_list, out=list_comp_ptr[1:])
    comp_entry_ptr = np.zeros(len(comp_counts) + 1, dtype=offsets_dtype(len(entry_code)))
    np.cumsum(comp_counts, out=comp_entry_ptr[1:])
    return Summaries(
        list_comp_ptr.astype(offsets_dtype(list_comp_ptr[-1])),
        comp_terms,
        comp_entry_ptr,
        entry_block,
        entry_code,
        block_min,
        block_scale,
    )


def _concatenate(columns: list[list[np.ndarray]], i: int, dtype) -> np.ndarray:
    parts, columns[i] = columns[i], []
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for every (s, n), vectorised."""
    total = int(lengths.sum())
    run_start = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return run_start + np.arange(total)
