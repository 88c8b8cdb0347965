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

Layout (format version 3, and 5 below). The blocks of a list are cut into *groups* of :data:`GROUP_BLOCKS`
consecutive blocks, so that a block number inside its group is one byte. The summaries of a
group are stored *term-major* (an inverted index over its blocks): a query scores all blocks of
a group in one pass over its own terms, each looked up in the group's directory, and adds
``weight * dequantized value`` to each block listed for it. A term present in a group is a
*component*: its entries (``entry_block``, ``entry_code``) are consecutive, its count minus one
is one byte (``comp_counts``: a group has at most 256 blocks), and the entry offset of every
:data:`CHECKPOINT_STRIDE`-th component is stored (``comp_checkpoints``; the others add the
counts in between). The directory of a group is the smaller of:

- *sparse*: the components' term ids, sorted (``comp_terms``, binary search): 2 bytes a term;
- *dense*: a bitmap over the vocabulary words the group spans (``word_bits``, 64 terms a word)
  and, per word, the rank of its first component in the group (``word_comp``): 10 bytes per 64
  terms, and a lookup is one bit test and a popcount.

*Masked groups* (format version 5). A group of at most :data:`MASK_BLOCKS` blocks (a list of
at most 8 blocks, or the tail of a long list) stores in a component's byte of ``comp_counts``
the mask of its blocks instead of its count, and its entries have no block numbers: entry ``i``
of the component belongs to the block of the mask's ``i``-th set bit. Short lists hold few
blocks and few entries per component (SciFact with the reference's parameters: 9,069 of 15,487
groups have one block, 1.0 entry per component; groups of at most 8 blocks hold 6.1M of the
34.7M entries at 1.0-1.45 entries a component), so a byte per entry was paid for a number the
mask gives in a byte per component. Counted and masked groups' bytes mean different things,
so an offset walk never crosses a group: ``group_entry_ptr`` holds each group's first entry
(where a walk starts when its checkpoint lies before the group) and ``group_block_ptr`` its
first block number, ``entry_block[e - group_entry_ptr[g] + group_block_ptr[g]]`` being entry
``e``'s. Summaries saved in format 3 or 4 are read as they are, none masked
(``mask_blocks`` 0), their groups' offsets derived at load (one walk of at most a stride per
group).

Bytes, per entry / component / block (``E``, ``C``, ``B`` their numbers, ``E_m`` the entries
of masked groups, ``G`` the groups, ``V`` the vocabulary):

- ours: ``2 E - E_m`` (code, block number in its group unless masked) ``+ C`` (count or mask)
  ``+ 4 C / 32`` (checkpoints) ``+ 8 B`` (min, scale) ``+`` per group ``2 C`` (sparse) or
  ``10 V / 64`` (dense) ``+`` 6 offsets. Version 2 (one directory per list, 2-byte block
  numbers past 256 blocks, a 2-byte term per component) paid ``2 E`` or ``3 E``, and ``3 C + 4 C
  / 32``; versions 3 and 4 ``2 E``.
- pyseismic-lsr 0.5.4 (one ``QuantizedSummary`` per list, term-major too): ``E`` (code) ``+
  E ceil(log2 n_blocks) / 8`` (block numbers bit-packed at the list's width: 8 bits at 200k
  documents with n_postings 1000, 9-10 at 1M with 3500, 0-3 in a list of 1-8 blocks) ``+ 8 B``
  ``+`` per list Elias-Fano offsets over the vocabulary (about ``V (2 + log2(1 + E_list / V)) /
  8``) or, where fewer bytes, the present term ids (2 bytes each) and their Elias-Fano offsets.

At 1M synthetic documents (n_postings 3500: E = 1.66e9, ~405 blocks a list) that is 2 bytes an
entry against the peer's ~2.2, where version 2 paid 3 (lists past 256 blocks) plus 0.45 in its
directory; at 200k (E = 4.5e8, C = 1.7e8) 2 against 2 an entry, the directory ~1.5 bytes a
component against version 2's 3.1. On SciFact the masks took the summaries from 108.3 MB
(format 4) to 102.2 MB, the index from 1.01x the peer's bytes to 0.96x
(``reports/index-size-s10.md``).

``block_min`` / ``block_scale`` are global, per block.
"""

from __future__ import annotations

import mmap
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
from lsr.index.forward import ForwardIndex, decode
from lsr.index.memory import release_free_memory
from lsr.index.postings import PostingLists, offsets_dtype
from lsr.index.prefetch import EVERY_LEVEL, prefetch_at, prefetch_range
from lsr.index.simd import popcount, trailing_zeros
from numba import njit, prange

QUANT_LEVELS = np.float32(255.0)
#: Components between two stored entry offsets.
CHECKPOINT_STRIDE = 32
#: Blocks of a group: a block number inside its group, and a component's count, fit a byte.
GROUP_SHIFT = 8
GROUP_BLOCKS = 1 << GROUP_SHIFT
#: Vocabulary terms per word of a dense directory's bitmap.
WORD_BITS = 64
#: Groups of at most this many blocks (a list's only group, or the tail of a long list) are
#: *masked*: a component's byte of ``comp_counts`` is the mask of its blocks, not its count
#: minus one, and its entries have no block numbers (format 5; see the module docstring).
MASK_BLOCKS = 8


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
    docs, block_sizes, indptr, terms, values, summary_energy, best, touched, vocab_size,
    comp_terms, comp_counts, entry_block, entry_code, block_min, block_scale, group_comps,
):  # fmt: skip
    """Summaries of one list, written group by group, term-major in each; ``group_comps``
    (zeros) receives each group's number of components. Returns (components, entries)."""
    keys = np.empty(len(comp_terms), dtype=np.int64)
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
            keys[n_entries + i] = (b >> GROUP_SHIFT) * vocab_size + components[i]
            entry_block[n_entries + i] = b & (GROUP_BLOCKS - 1)
            entry_code[n_entries + i] = codes[i]
        n_entries += len(components)
    # Block-major to (group, term)-major: a stable sort keeps blocks increasing within a term.
    order = np.argsort(keys[:n_entries], kind="mergesort")
    sorted_keys = keys[:n_entries][order]
    blocks = entry_block[:n_entries][order]
    codes = entry_code[:n_entries][order]
    n_comps = 0
    for i in range(n_entries):
        entry_block[i] = blocks[i]
        entry_code[i] = codes[i]
        if i == 0 or sorted_keys[i] != sorted_keys[i - 1]:
            comp_terms[n_comps] = sorted_keys[i] % vocab_size
            comp_counts[n_comps] = 0  # the count minus one
            group_comps[sorted_keys[i] // vocab_size] += 1
            n_comps += 1
        else:
            comp_counts[n_comps - 1] += 1
    return n_comps, n_entries


@njit(nogil=True, cache=True, parallel=True)
def summarize_lists(
    lists, list_offsets, list_docs, list_block_ptr, list_group_ptr, block_sizes, scratch_base,
    indptr, terms, values, summary_energy, vocab_size, max_block_nnz,
    comp_terms, comp_counts, entry_block, entry_code, block_min, block_scale, group_comps,
    n_comps, n_entries,
):  # fmt: skip
    """Summaries of the lists ``lists``, each into its scratch region ``scratch_base[i]:[i+1]``.

    Every list runs on one thread, writing its results at the start of its region;
    ``n_comps`` / ``n_entries`` receive how much of each region is used, ``group_comps`` (by
    global group number) the components of each group.
    """
    for i in prange(len(lists)):
        t = lists[i]
        lo, hi = scratch_base[i], scratch_base[i + 1]
        b0, b1 = list_block_ptr[t], list_block_ptr[t + 1]
        best = np.full(vocab_size, -1.0, dtype=np.float32)
        touched = np.empty(max_block_nnz[i], dtype=np.int64)
        n_comps[i], n_entries[i] = _summarize_list(
            list_docs[list_offsets[t] : list_offsets[t + 1]], block_sizes[b0:b1], indptr, terms,
            values, summary_energy, best, touched, vocab_size, comp_terms[lo:hi],
            comp_counts[lo:hi], entry_block[lo:hi], entry_code[lo:hi], block_min[b0:b1],
            block_scale[b0:b1], group_comps[list_group_ptr[t] : list_group_ptr[t + 1]],
        )  # fmt: skip


@njit(nogil=True, cache=True, inline="always")
def component_entries(byte, masked):
    """Entries of a component from its byte of ``comp_counts``: the count minus one, or in a
    masked group (at most :data:`MASK_BLOCKS` blocks) the mask of its blocks."""
    if masked:
        return popcount(np.uint64(byte))
    return np.int64(byte) + 1


@njit(nogil=True, cache=True, inline="always")
def entry_offset(c, c0, group_entry, comp_counts, comp_checkpoints, masked):
    """Position of component ``c``'s first entry, in the group whose first component is ``c0``
    and first entry ``group_entry``: the checkpoint at or before ``c`` plus the entries in
    between, or the group's start where that is nearer (a walk never crosses into another
    group, whose bytes may mean masks where this one's mean counts)."""
    first = c - c % CHECKPOINT_STRIDE
    offset = np.int64(group_entry)
    if first > c0:
        offset = np.int64(comp_checkpoints[first // CHECKPOINT_STRIDE])
    else:
        first = c0
    for i in range(first, c):
        offset += component_entries(comp_counts[i], masked)
    return offset


@njit(nogil=True, cache=True, inline="always")
def _entry_range(c, c0, e_lo, e_hi, comp_counts, comp_checkpoints, masked):
    """Entries ``start:stop`` of component ``c`` of a group whose first component is ``c0`` and
    whose entries are ``e_lo:e_hi``.

    Loading does not scan the summaries' entries (:mod:`index.integrity`: billions at 1M
    documents), only the groups' offsets, so the range is bounded to the group's entries here
    (four comparisons per component) and each block number to the group's last block in
    :func:`_accumulate` (one ``min`` per entry). In a sound index neither changes anything; in
    a damaged one a wrong count, mask, checkpoint or block number can only misdirect summary
    scores, never read or write outside an array."""
    e0 = entry_offset(c, c0, e_lo, comp_counts, comp_checkpoints, masked)
    stop = e0 + component_entries(comp_counts[c], masked)
    return min(max(e0, e_lo), e_hi), min(max(stop, e_lo), e_hi)


@njit(nogil=True, cache=True, inline="always")
def _add_entry(code, b, block_min, block_scale, g_first, first, weight, out):
    """Add ``weight`` x the dequantized ``code`` of the group's block ``b`` to its score."""
    out[first + b] += (
        np.float32(code) * block_scale[g_first + b] + block_min[g_first + b]
    ) * weight


@njit(nogil=True, cache=True, inline="always")
def _accumulate(
    start, stop, shift, entry_block, entry_code, block_min, block_scale, g_first, first, last,
    weight, out,
):  # fmt: skip
    """Add ``weight`` x the dequantized entries ``start:stop`` (one component's) to their
    blocks' scores (``out[first + b]``; the group's blocks are ``g_first + b`` globally); the
    block number of entry ``e`` is ``entry_block[e + shift]``."""
    for e in range(start, stop):
        b = min(np.int64(entry_block[e + shift]), last)
        _add_entry(entry_code[e], b, block_min, block_scale, g_first, first, weight, out)


@njit(nogil=True, cache=True, inline="always")
def _accumulate_masked(
    mask, start, stop, entry_code, block_min, block_scale, g_first, first, last, weight, out
):  # fmt: skip
    """:func:`_accumulate` for a masked group: entry ``start + i`` belongs to the block of the
    ``i``-th set bit of ``mask`` (blocks in the same increasing order, so the same sums)."""
    bits = np.uint64(mask)
    for e in range(start, stop):
        if bits == 0:
            return
        b = min(trailing_zeros(bits), last)
        bits &= bits - np.uint64(1)
        _add_entry(entry_code[e], b, block_min, block_scale, g_first, first, weight, out)


@njit(nogil=True, cache=True, inline="always")
def _dense_component(term, w0, w1, word_bits, word_comp):
    """Rank of ``term`` among the components of a dense group (words ``w0:w1`` of the bitmap,
    the first covering terms from ``word0 * 64``), or -1 where absent."""
    word = w0 + (term >> 6)
    if word >= w1:
        return -1
    bits = word_bits[word]
    bit = np.uint64(1) << np.uint64(term & (WORD_BITS - 1))
    if bits & bit == 0:
        return -1
    return np.int64(word_comp[word]) + popcount(bits & (bit - np.uint64(1)))


@njit(nogil=True, cache=True, inline="always")
def _prefetch_words(q_terms, word0, w0, w1, word_bits, word_comp):
    """Start loading the bitmap words (and their ranks) of a dense group that the query's terms
    fall in, all at once, before any is tested."""
    for j in range(len(q_terms)):
        term = np.int64(q_terms[j])
        if term >= word0:
            word = w0 + ((term - word0) >> 6)
            if word < w1:
                prefetch_at(word_bits, word)
                prefetch_at(word_comp, word)


@njit(nogil=True, cache=True, inline="always")
def _find_components(g, summaries, q_terms, found_query, found_comp):
    """The query's terms present in group ``g``: their positions in the query into
    ``found_query`` and their components into ``found_comp``, in query order; returns how
    many. Starts loading each one's count and checkpoint as it is found."""
    (_, group_comp_ptr, group_terms_ptr, group_words_ptr, group_word0, _, _, comp_terms,
     word_bits, word_comp, comp_counts, comp_checkpoints) = summaries[:12]  # fmt: skip
    c0, n_comps = group_comp_ptr[g], group_comp_ptr[g + 1] - group_comp_ptr[g]
    w0, w1 = group_words_ptr[g], group_words_ptr[g + 1]
    lo, hi_end = group_terms_ptr[g], group_terms_ptr[g + 1]
    word0 = np.int64(group_word0[g]) * WORD_BITS
    if w1 > w0:
        _prefetch_words(q_terms, word0, w0, w1, word_bits, word_comp)
    n_found = 0
    for j in range(len(q_terms)):
        term = np.int64(q_terms[j])
        if w1 > w0:
            if term < word0:
                continue
            rank = _dense_component(term - word0, w0, w1, word_bits, word_comp)
        else:
            hi = hi_end
            while lo < hi:
                mid = (lo + hi) >> 1
                if comp_terms[mid] < term:
                    lo = mid + 1
                else:
                    hi = mid
            if lo == hi_end:
                break
            rank = lo - group_terms_ptr[g] if comp_terms[lo] == term else -1
        if 0 <= rank < n_comps:
            c = c0 + rank
            found_query[n_found] = j
            found_comp[n_found] = c
            n_found += 1
            checkpoint = c - c % CHECKPOINT_STRIDE
            prefetch_at(comp_checkpoints, checkpoint // CHECKPOINT_STRIDE)
            prefetch_at(comp_counts, checkpoint)
            prefetch_at(comp_counts, c)
    return n_found


@njit(nogil=True, cache=True)
def score_summaries(summaries, t, b0, b1, q_terms, q_weights, out):
    """Inner product of the query with every summary of list ``t`` (blocks ``b0:b1``) into
    ``out[:b1 - b0]``: per group, one pass over the query terms (sorted), each found in the
    group's directory (bit test and popcount, or binary search whose range shrinks).
    ``summaries`` is :meth:`Summaries.kernel_arrays`.

    Each term's entries are a cache miss at the end of a chain of others (directory word,
    count and checkpoint, entries) in summaries far larger than the caches, so the work is
    done in passes over the query's terms, each starting the loads the next one needs: the
    misses of different terms overlap instead of following one another (2.0x faster on
    SciFact's queries, 2.7x on 200k synthetic documents; same sums in the same order)."""
    (list_group_ptr, group_comp_ptr, _, _, _, group_entry_ptr, group_block_ptr, _, _, _,
     comp_counts, comp_checkpoints, entry_block, entry_code, block_min, block_scale,
     mask_blocks) = summaries  # fmt: skip
    n_blocks = b1 - b0
    for b in range(n_blocks):
        out[b] = 0.0
    found_query = np.empty(len(q_terms), dtype=np.int64)
    found_comp = np.empty(len(q_terms), dtype=np.int64)
    found_start = np.empty(len(q_terms), dtype=np.int64)
    found_stop = np.empty(len(q_terms), dtype=np.int64)
    for g in range(list_group_ptr[t], list_group_ptr[t + 1]):
        first = (g - list_group_ptr[t]) * GROUP_BLOCKS
        last = min(n_blocks - first, GROUP_BLOCKS) - 1
        if last < 0:
            return
        n_found = _find_components(g, summaries, q_terms, found_query, found_comp)
        masked = last < mask_blocks
        c0 = np.int64(group_comp_ptr[g])
        e_lo, e_hi = np.int64(group_entry_ptr[g]), np.int64(group_entry_ptr[g + 1])
        shift = np.int64(group_block_ptr[g]) - e_lo
        for i in range(n_found):
            start, stop = _entry_range(
                found_comp[i], c0, e_lo, e_hi, comp_counts, comp_checkpoints, masked
            )
            found_start[i], found_stop[i] = start, stop
            prefetch_range(entry_code, start, stop, EVERY_LEVEL)
            if not masked:
                prefetch_range(entry_block, start + shift, stop + shift, EVERY_LEVEL)
        for i in range(n_found):
            weight = q_weights[found_query[i]]
            if masked:
                _accumulate_masked(
                    comp_counts[found_comp[i]], found_start[i], found_stop[i], entry_code,
                    block_min, block_scale, b0 + first, first, last, weight, out,
                )  # fmt: skip
            else:
                _accumulate(
                    found_start[i], found_stop[i], shift, entry_block, entry_code, block_min,
                    block_scale, b0 + first, first, last, weight, out,
                )  # fmt: skip


@njit(nogil=True, cache=True)
def _group_entry_starts(group_comp_ptr, comp_counts, comp_checkpoints, n_entries):
    """Each group's first entry in summaries saved before format 5 (no masked groups: the
    global checkpoint walk holds), as format 5 stores them in ``group_entry_ptr``. Positions
    are clamped to the arrays and the offsets made non-decreasing: on a damaged index this
    reads nothing outside them and gives offsets that pass the load's checks, so the damage
    only misdirects scores, as damage to the entries does."""
    n_comps = len(comp_counts)
    starts = np.empty(len(group_comp_ptr), dtype=np.int64)
    for g in range(len(group_comp_ptr)):
        c = min(max(np.int64(group_comp_ptr[g]), 0), n_comps)
        offset = n_entries
        if c < n_comps:
            offset = entry_offset(c, -1, 0, comp_counts, comp_checkpoints, False)
        starts[g] = min(max(offset, 0), n_entries)
    starts[0], starts[-1] = 0, n_entries
    for g in range(1, len(starts)):
        starts[g] = max(starts[g], starts[g - 1])
    return starts


#: Scratch entries per summarization batch (13 bytes each): bounds the extra memory of a build.
BATCH_ENTRIES = 1 << 22


@dataclass
class Summaries:
    """Quantized summaries of every block, term-major per group of blocks (see the module
    docstring). ``mask_blocks`` is 0 in summaries saved before format 5 (no masked groups)."""

    list_group_ptr: np.ndarray
    group_comp_ptr: np.ndarray
    group_terms_ptr: np.ndarray
    group_words_ptr: np.ndarray
    group_word0: np.ndarray
    group_entry_ptr: np.ndarray
    group_block_ptr: np.ndarray
    comp_terms: np.ndarray
    word_bits: np.ndarray
    word_comp: np.ndarray
    comp_counts: np.ndarray
    comp_checkpoints: np.ndarray
    entry_block: np.ndarray
    entry_code: np.ndarray
    block_min: np.ndarray
    block_scale: np.ndarray
    mask_blocks: int = MASK_BLOCKS

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], mask_blocks: int) -> Summaries:
        """The summaries among a loaded index's arrays. Those saved before format 5 have no
        masked groups and no ``group_entry_ptr`` / ``group_block_ptr``, which are derived here
        (one walk of at most a checkpoint's stride per group; a group's block numbers then
        start where its entries do)."""
        found = {name: arrays[name] for name in cls.stored_names() if name in arrays}
        if "group_entry_ptr" not in arrays and mask_blocks == 0:
            starts = _old_group_entry_starts(found)
            found |= {"group_entry_ptr": starts, "group_block_ptr": starts}
        return cls(**{name: found[name] for name in cls.stored_names()}, mask_blocks=mask_blocks)

    @classmethod
    def stored_names(cls) -> list[str]:
        """The arrays an index directory holds, one file each (``mask_blocks`` is in its
        manifest)."""
        return [f.name for f in fields(cls) if f.name != "mask_blocks"]

    def stored(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.stored_names()}

    @property
    def n_entries(self) -> int:
        return len(self.entry_code)

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.stored().values())

    def kernel_arrays(self) -> tuple:
        """Every array in field order, then ``mask_blocks``: what the search kernels take as
        ``summaries``."""
        return (*self.stored().values(), self.mask_blocks)

    def group_terms(self, g: int) -> np.ndarray:
        """Term ids of group ``g``'s components, in order, from either directory."""
        w0, w1 = int(self.group_words_ptr[g]), int(self.group_words_ptr[g + 1])
        if w1 == w0:
            return self.comp_terms[self.group_terms_ptr[g] : self.group_terms_ptr[g + 1]]
        words = np.ascontiguousarray(self.word_bits[w0:w1], dtype="<u8").view(np.uint8)
        present = np.flatnonzero(np.unpackbits(words, bitorder="little"))
        return present + int(self.group_word0[g]) * WORD_BITS

    def list_entries(self, t: int, n_blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Terms, local block numbers and codes of every entry of list ``t`` (which has
        ``n_blocks`` blocks), group by group, term-major in each: the layout decoded with
        numpy, for inspection."""
        terms, blocks, codes = [], [], []
        for i, g in enumerate(range(self.list_group_ptr[t], self.list_group_ptr[t + 1])):
            c0, c1 = int(self.group_comp_ptr[g]), int(self.group_comp_ptr[g + 1])
            e0, e1 = int(self.group_entry_ptr[g]), int(self.group_entry_ptr[g + 1])
            group_bytes = np.asarray(self.comp_counts[c0:c1])
            if min(n_blocks - i * GROUP_BLOCKS, GROUP_BLOCKS) <= self.mask_blocks:
                masks = np.unpackbits(group_bytes[:, None], axis=1, bitorder="little")
                counts, local = masks.sum(axis=1, dtype=np.int64), np.nonzero(masks)[1]
            else:
                counts = group_bytes.astype(np.int64) + 1
                at = int(self.group_block_ptr[g])
                local = self.entry_block[at : at + e1 - e0]
            terms.append(np.repeat(self.group_terms(g), counts))
            blocks.append(np.asarray(local, dtype=np.int64) + i * GROUP_BLOCKS)
            codes.append(self.entry_code[e0:e1])
        if not terms:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8)
        return np.concatenate(terms), np.concatenate(blocks), np.concatenate(codes)


def _old_group_entry_starts(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """:func:`_group_entry_starts` of summaries saved before format 5, in their offsets' dtype;
    zeros where the checkpoints are too few for the components (the load's length check then
    names the file)."""
    counts, checkpoints = arrays["comp_counts"], arrays["comp_checkpoints"]
    group_comp_ptr, n_entries = arrays["group_comp_ptr"], len(arrays["entry_code"])
    dtype = offsets_dtype(n_entries)
    if len(checkpoints) < -(-len(counts) // CHECKPOINT_STRIDE) or len(group_comp_ptr) == 0:
        return np.zeros(len(group_comp_ptr), dtype)
    return _group_entry_starts(group_comp_ptr, counts, checkpoints, n_entries).astype(dtype)


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


def group_ptr(list_block_ptr: np.ndarray) -> np.ndarray:
    """Offsets of every list's groups: a list of ``n`` blocks has ``ceil(n / 256)``."""
    groups = (np.diff(list_block_ptr).astype(np.int64) + GROUP_BLOCKS - 1) >> GROUP_SHIFT
    ptr = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum(groups, out=ptr[1:])
    return ptr


def build_summaries(
    forward: ForwardIndex,
    postings: PostingLists,
    summary_energy: float,
    reserve: bool = True,
    mask_blocks: int = MASK_BLOCKS,
) -> Summaries:
    """Summaries of all blocks, computed in parallel batches of lists and written straight into
    their final arrays, so the build holds one copy of them. Groups of at most ``mask_blocks``
    blocks are masked (0: none, the layout before format 5).

    The arrays are reserved at their upper bound (:func:`_reserve`); where the system refuses
    that (strict overcommit, ``vm.overcommit_memory = 2``), or with ``reserve=False``, a first
    pass only counts and the arrays are allocated at their exact size (the summaries are then
    computed twice; the directories are allocated at their bound and trimmed).
    """
    if not 0 <= mask_blocks <= MASK_BLOCKS:
        raise ValueError(f"mask_blocks must be in [0, {MASK_BLOCKS}], got {mask_blocks}")
    doc_nnz = np.diff(forward.indptr)[postings.post_docs]
    block_nnz = _segment_sums(doc_nnz, postings.block_ptr)
    bounds = _segment_sums(np.minimum(block_nnz, forward.vocab_size), postings.list_block_ptr)
    list_group_ptr = group_ptr(postings.list_block_ptr)
    n_groups = int(list_group_ptr[-1])
    word_bound = n_groups * -(-forward.vocab_size // WORD_BITS)
    word_comp_dtype = np.uint16 if forward.vocab_size <= 1 << 16 else np.uint32
    dtypes = (forward.terms.dtype, word_comp_dtype)
    layout = (list_group_ptr, mask_blocks)
    outputs = None
    if reserve:
        try:
            capacity = int(bounds.sum())
            outputs = _allocate(_reserve, (capacity, capacity, word_bound, n_groups), dtypes)
        except OSError:
            outputs = None
    if outputs is None:
        comps_per_list, entries_per_list, *_ = _summarize_all(
            forward, postings, summary_energy, block_nnz, bounds, layout, None
        )
        sizes = (int(comps_per_list.sum()), int(entries_per_list.sum()), word_bound, n_groups)
        outputs = _allocate(_zeros, sizes, dtypes)
    block_min, block_scale, filled = _summarize_all(
        forward, postings, summary_energy, block_nnz, bounds, layout, outputs
    )[2:]
    n_comps, n_entries, n_terms, n_words, n_numbers = (int(n) for n in filled)
    (comp_terms, word_bits, word_comp, comp_counts, checkpoints, entry_block, entry_code,
     group_comp_ptr, group_terms_ptr, group_words_ptr, group_word0, group_entry_ptr,
     group_block_ptr) = outputs  # fmt: skip
    return Summaries(
        list_group_ptr.astype(offsets_dtype(n_groups)),
        group_comp_ptr.astype(offsets_dtype(n_comps)),
        group_terms_ptr.astype(offsets_dtype(n_terms)),
        group_words_ptr.astype(offsets_dtype(n_words)),
        group_word0,
        group_entry_ptr.astype(offsets_dtype(n_entries)),
        group_block_ptr.astype(offsets_dtype(n_numbers)),
        comp_terms[:n_terms].copy(),
        word_bits[:n_words].copy(),
        word_comp[:n_words].copy(),
        comp_counts[:n_comps],
        checkpoints[: -(-n_comps // CHECKPOINT_STRIDE)].astype(offsets_dtype(n_entries)),
        entry_block[:n_numbers],
        entry_code[:n_entries],
        block_min,
        block_scale,
        mask_blocks,
    )


def _zeros(size: int, dtype) -> np.ndarray:
    return np.zeros(size, dtype)


def _allocate(make, sizes: tuple[int, int, int, int], dtypes) -> tuple[np.ndarray, ...]:
    """Output arrays for ``sizes`` = (components, entries, directory words, groups): terms,
    bitmap words and their ranks, counts, checkpoints, block numbers, codes, and the per-group
    offsets (the order :func:`_append_batch` takes them in)."""
    n_comps, n_entries, n_words, n_groups = sizes
    term_dtype, word_comp_dtype = dtypes
    return (
        make(n_comps, term_dtype),
        make(n_words, np.uint64),
        make(n_words, word_comp_dtype),
        make(n_comps, np.uint8),
        make(-(-n_comps // CHECKPOINT_STRIDE), np.int64),
        make(n_entries, np.uint8),
        make(n_entries, np.uint8),
        np.zeros(n_groups + 1, np.int64),
        np.zeros(n_groups + 1, np.int64),
        np.zeros(n_groups + 1, np.int64),
        np.zeros(n_groups, np.int32),
        np.zeros(n_groups + 1, np.int64),
        np.zeros(n_groups + 1, np.int64),
    )


def _summarize_all(forward, postings, summary_energy, block_nnz, bounds, layout, outputs):
    """Summarize every list, batch after batch, appending to ``outputs`` (from
    :func:`_allocate`; ``None`` only counts) in the ``layout`` (``list_group_ptr``,
    ``mask_blocks``). Returns components and entries per list, the blocks' quantization
    parameters and how much of each output was written."""
    list_group_ptr, mask_blocks = layout
    n_lists = len(postings.list_block_ptr) - 1
    list_offsets = postings.block_ptr[postings.list_block_ptr]
    block_sizes = np.diff(postings.block_ptr).astype(np.int64)
    block_min = np.zeros(postings.n_blocks, dtype=np.float32)
    block_scale = np.zeros(postings.n_blocks, dtype=np.float32)
    comps_per_list = np.zeros(n_lists, dtype=np.int64)
    entries_per_list = np.zeros(n_lists, dtype=np.int64)
    group_comps = np.zeros(int(list_group_ptr[-1]), dtype=np.int64)
    # components, entries, sparse terms, dense words, block numbers
    filled = np.zeros(5, dtype=np.int64)
    for lists in _batches(bounds):
        scratch_base = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(bounds[lists], out=scratch_base[1:])
        size = int(scratch_base[-1])
        comp_terms = np.empty(size, dtype=forward.terms.dtype)
        comp_counts = np.empty(size, dtype=np.uint8)
        entry_block = np.empty(size, dtype=np.uint8)
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
            lists, list_offsets, postings.post_docs, postings.list_block_ptr, list_group_ptr,
            block_sizes, scratch_base, forward.indptr, forward.terms, forward.values,
            summary_energy, forward.vocab_size, max_block_nnz, comp_terms, comp_counts,
            entry_block, entry_code, block_min, block_scale, group_comps, n_comps, n_entries,
        )  # fmt: skip
        comps_per_list[lists] = n_comps
        entries_per_list[lists] = n_entries
        if outputs is not None:
            _append_batch(
                lists, scratch_base, postings.list_block_ptr, list_group_ptr, mask_blocks,
                group_comps, comp_terms, comp_counts, entry_block, entry_code, *outputs, filled,
            )  # fmt: skip
        release_free_memory()
    return comps_per_list, entries_per_list, block_min, block_scale, filled


@njit(nogil=True, cache=True)
def _append_batch(
    lists, scratch_base, list_block_ptr, list_group_ptr, mask_blocks, group_comps, comp_terms,
    comp_counts, entry_block, entry_code, out_terms, out_words, out_word_comp, out_counts,
    out_checkpoints, out_block, out_codes, group_comp_ptr, group_terms_ptr, group_words_ptr,
    group_word0, group_entry_ptr, group_block_ptr, filled,
):  # fmt: skip
    """Append each list's used part of its scratch region to the final arrays, with each
    group's directory in the smaller layout and its components masked where it has at most
    ``mask_blocks`` blocks; ``filled`` holds (and is advanced to) how much of each is
    written."""
    c, n_terms, n_words = filled[0], filled[2], filled[3]
    position = filled[1], filled[4]  # the next entry, the next block number
    for i in range(len(lists)):
        t = lists[i]
        j, s = scratch_base[i], scratch_base[i]  # the list's next component and entry
        n_blocks = list_block_ptr[t + 1] - list_block_ptr[t]
        for g in range(list_group_ptr[t], list_group_ptr[t + 1]):
            n = group_comps[g]
            n_terms, n_words = _append_directory(
                comp_terms[j : j + n], g, out_terms, out_words, out_word_comp, group_word0,
                n_terms, n_words,
            )  # fmt: skip
            first = (g - list_group_ptr[t]) * GROUP_BLOCKS
            masked = min(n_blocks - first, GROUP_BLOCKS) <= mask_blocks
            for r in range(n):
                if c % CHECKPOINT_STRIDE == 0:
                    out_checkpoints[c // CHECKPOINT_STRIDE] = position[0]
                count = np.int64(comp_counts[j + r]) + 1
                out_counts[c] = (
                    _block_mask(entry_block[s : s + count]) if masked else comp_counts[j + r]
                )
                position = _append_entries(
                    entry_block[s : s + count], entry_code[s : s + count], masked, out_block,
                    out_codes, position,
                )  # fmt: skip
                s += count
                c += 1
            j += n
            group_comp_ptr[g + 1] = c
            group_terms_ptr[g + 1] = n_terms
            group_words_ptr[g + 1] = n_words
            group_entry_ptr[g + 1], group_block_ptr[g + 1] = position
    filled[0], filled[1], filled[2], filled[3], filled[4] = (
        c, position[0], n_terms, n_words, position[1]
    )  # fmt: skip


@njit(nogil=True, cache=True, inline="always")
def _block_mask(blocks):
    """The mask of a masked group's component from its entries' block numbers."""
    mask = np.uint8(0)
    for b in blocks:
        mask |= np.uint8(1 << b)
    return mask


@njit(nogil=True, cache=True, inline="always")
def _append_entries(blocks, codes, masked, out_block, out_codes, position):
    """Append one component's codes, and its block numbers unless its group is masked, at
    ``position`` (entry, block number); returns the next position."""
    e, nb = position
    for x in range(len(codes)):
        out_codes[e + x] = codes[x]
    if not masked:
        for x in range(len(blocks)):
            out_block[nb + x] = blocks[x]
        nb += len(blocks)
    return e + len(codes), nb


@njit(nogil=True, cache=True, inline="always")
def _append_directory(
    terms, g, out_terms, out_words, out_word_comp, group_word0, n_terms, n_words
):  # fmt: skip
    """Write group ``g``'s directory of its components' ``terms`` (sorted) in the smaller
    layout, sparse ids or dense bitmap; returns the advanced (sparse terms, dense words)."""
    n = len(terms)
    word_bytes = 8 + out_word_comp.itemsize
    if n > 0:
        word0 = np.int64(terms[0]) // WORD_BITS
        span = np.int64(terms[n - 1]) // WORD_BITS - word0 + 1
    else:
        word0, span = 0, 0
    group_word0[g] = word0
    if n > 0 and span * word_bytes < n * out_terms.itemsize:
        for w in range(n_words, n_words + span):
            out_words[w] = 0
        for r in range(n):
            local = np.int64(terms[r]) - word0 * WORD_BITS
            w = n_words + local // WORD_BITS
            if out_words[w] == 0:
                out_word_comp[w] = r
            out_words[w] |= np.uint64(1) << np.uint64(local % WORD_BITS)
        return n_terms, n_words + span
    for r in range(n):
        out_terms[n_terms + r] = terms[r]
    return n_terms + n, n_words


#: ``MAP_NORESERVE``, which Python exports only from 3.13 (Linux's value before that): without
#: it Linux refuses a reservation larger than memory and swap, whatever is ever written to it.
_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000 if sys.platform == "linux" else 0)


def _reserve(capacity: int, dtype) -> np.ndarray:
    """A zero-filled array of ``capacity`` whose memory pages are only taken once written.

    The summaries' final size is known only once they are built, and bounded by ~10x that
    (every entry of every block). Reserving the bound as anonymous memory (``MAP_NORESERVE``:
    untouched pages cost nothing) lets batches write their results in place: no per-batch parts
    concatenated at the end, which held two copies and left the allocator's heap fragmented
    (measured: peak 2.3 GB against 1.4 GB when building 50k documents).
    """
    if not hasattr(mmap, "MAP_PRIVATE"):
        raise OSError("this platform has no private anonymous mappings")
    nbytes = max(capacity * np.dtype(dtype).itemsize, 1)
    flags = mmap.MAP_PRIVATE | _MAP_NORESERVE
    return np.frombuffer(mmap.mmap(-1, nbytes, flags=flags), dtype=dtype, count=capacity)
