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

Layout (format version 3). The blocks of a list are cut into *groups* of :data:`GROUP_BLOCKS`
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

Bytes, per entry / component / block (``E``, ``C``, ``B`` their numbers, ``V`` the vocabulary):

- ours: ``2 E`` (code, block number in its group) ``+ C`` (count) ``+ 4 C / 32`` (checkpoints)
  ``+ 8 B`` (min, scale) ``+`` per group ``2 C`` (sparse) or ``10 V / 64`` (dense) ``+`` 4
  offsets. Version 2 (one directory per list, 2-byte block numbers past 256 blocks, a 2-byte
  term per component) paid ``2 E`` or ``3 E``, and ``3 C + 4 C / 32``.
- pyseismic-lsr 0.5.4 (one ``QuantizedSummary`` per list, term-major too): ``E`` (code) ``+
  E ceil(log2 n_blocks) / 8`` (block numbers bit-packed at the list's width: 8 bits at 200k
  documents with n_postings 1000, 9-10 at 1M with 3500) ``+ 8 B`` ``+`` per list Elias-Fano
  offsets over the vocabulary (about ``V (2 + log2(1 + E_list / V)) / 8``) or, where fewer
  bytes, the present term ids (2 bytes each) and their Elias-Fano offsets.

At 1M synthetic documents (n_postings 3500: E = 1.66e9, ~405 blocks a list) that is 2 bytes an
entry against the peer's ~2.2, where version 2 paid 3 (lists past 256 blocks) plus 0.45 in its
directory; at 200k (E = 4.5e8, C = 1.7e8) 2 against 2 an entry, the directory ~1.5 bytes a
component against version 2's 3.1.

``block_min`` / ``block_scale`` are global, per block.
"""

from __future__ import annotations

import mmap
import sys
from dataclasses import dataclass, fields

import numpy as np
from lsr.index.forward import ForwardIndex, decode
from lsr.index.memory import release_free_memory
from lsr.index.postings import PostingLists, offsets_dtype
from lsr.index.prefetch import EVERY_LEVEL, prefetch_at, prefetch_range
from lsr.index.simd import popcount
from numba import njit, prange

QUANT_LEVELS = np.float32(255.0)
#: Components between two stored entry offsets.
CHECKPOINT_STRIDE = 32
#: Blocks of a group: a block number inside its group, and a component's count, fit a byte.
GROUP_SHIFT = 8
GROUP_BLOCKS = 1 << GROUP_SHIFT
#: Vocabulary terms per word of a dense directory's bitmap.
WORD_BITS = 64


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
def entry_offset(c, comp_counts, comp_checkpoints):
    """Position of component ``c``'s first entry: its checkpoint plus the counts in between."""
    first = c - c % CHECKPOINT_STRIDE
    offset = np.int64(comp_checkpoints[first // CHECKPOINT_STRIDE])
    for i in range(first, c):
        offset += np.int64(comp_counts[i]) + 1
    return offset


@njit(nogil=True, cache=True, inline="always")
def _entry_range(c, comp_counts, comp_checkpoints, n_entries):
    """Entries ``start:stop`` of component ``c``.

    Loading does not scan the summaries' entries (:mod:`index.integrity`: billions at 1M
    documents), so the range is bounded to the arrays here (two comparisons per component) and
    each block number to its group's last block in :func:`_accumulate` (one ``min`` per
    entry). In a sound index neither changes anything; in a damaged one a wrong count,
    checkpoint or block number can only misdirect summary scores, never read or write outside
    an array."""
    e0 = entry_offset(c, comp_counts, comp_checkpoints)
    return max(e0, 0), min(e0 + np.int64(comp_counts[c]) + 1, n_entries)


@njit(nogil=True, cache=True, inline="always")
def _accumulate(
    start, stop, entry_block, entry_code, block_min, block_scale, g_first, first, last, weight,
    out,
):  # fmt: skip
    """Add ``weight`` x the dequantized entries ``start:stop`` (one component's) to their
    blocks' scores (``out[first + b]``; the group's blocks are ``g_first + b`` globally)."""
    for e in range(start, stop):
        b = min(np.int64(entry_block[e]), last)
        out[first + b] += (
            np.float32(entry_code[e]) * block_scale[g_first + b] + block_min[g_first + b]
        ) * weight


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
    (_, group_comp_ptr, group_terms_ptr, group_words_ptr, group_word0, comp_terms, word_bits,
     word_comp, comp_counts, comp_checkpoints) = summaries[:10]  # fmt: skip
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
    ``summaries`` is :meth:`Summaries.arrays`.

    Each term's entries are a cache miss at the end of a chain of others (directory word,
    count and checkpoint, entries) in summaries far larger than the caches, so the work is
    done in passes over the query's terms, each starting the loads the next one needs: the
    misses of different terms overlap instead of following one another (2.0x faster on
    SciFact's queries, 2.7x on 200k synthetic documents; same sums in the same order)."""
    (list_group_ptr, _, _, _, _, _, _, _, comp_counts, comp_checkpoints, entry_block, entry_code,
     block_min, block_scale) = summaries  # fmt: skip
    n_blocks = b1 - b0
    for b in range(n_blocks):
        out[b] = 0.0
    n_entries = min(len(entry_code), len(entry_block))
    found_query = np.empty(len(q_terms), dtype=np.int64)
    found_start = np.empty(len(q_terms), dtype=np.int64)
    found_stop = np.empty(len(q_terms), dtype=np.int64)
    for g in range(list_group_ptr[t], list_group_ptr[t + 1]):
        first = (g - list_group_ptr[t]) * GROUP_BLOCKS
        last = min(n_blocks - first, GROUP_BLOCKS) - 1
        if last < 0:
            return
        n_found = _find_components(g, summaries, q_terms, found_query, found_start)
        for i in range(n_found):
            start, stop = _entry_range(found_start[i], comp_counts, comp_checkpoints, n_entries)
            found_start[i], found_stop[i] = start, stop
            prefetch_range(entry_block, start, stop, EVERY_LEVEL)
            prefetch_range(entry_code, start, stop, EVERY_LEVEL)
        for i in range(n_found):
            _accumulate(
                found_start[i], found_stop[i], entry_block, entry_code, block_min, block_scale,
                b0 + first, first, last, q_weights[found_query[i]], out,
            )  # fmt: skip


@njit(nogil=True, cache=True)
def _checkpoints(comp_counts, dtype_probe):
    """Entry offset of every :data:`CHECKPOINT_STRIDE`-th component (``dtype_probe`` carries
    the offsets' dtype)."""
    n = (len(comp_counts) + CHECKPOINT_STRIDE - 1) // CHECKPOINT_STRIDE
    out = np.empty(n, dtype_probe.dtype)
    offset = 0
    for c in range(len(comp_counts)):
        if c % CHECKPOINT_STRIDE == 0:
            out[c // CHECKPOINT_STRIDE] = offset
        offset += np.int64(comp_counts[c]) + 1
    return out


#: Scratch entries per summarization batch (13 bytes each): bounds the extra memory of a build.
BATCH_ENTRIES = 1 << 22


@dataclass
class Summaries:
    """Quantized summaries of every block, term-major per group of blocks (see the module
    docstring)."""

    list_group_ptr: np.ndarray
    group_comp_ptr: np.ndarray
    group_terms_ptr: np.ndarray
    group_words_ptr: np.ndarray
    group_word0: np.ndarray
    comp_terms: np.ndarray
    word_bits: np.ndarray
    word_comp: np.ndarray
    comp_counts: np.ndarray
    comp_checkpoints: np.ndarray
    entry_block: np.ndarray
    entry_code: np.ndarray
    block_min: np.ndarray
    block_scale: np.ndarray

    @property
    def n_entries(self) -> int:
        return len(self.entry_code)

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.arrays())

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Every array, in field order: what the search kernels take as ``summaries``."""
        return tuple(getattr(self, f.name) for f in fields(self))

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
            counts = self.comp_counts[c0:c1].astype(np.int64) + 1
            e0 = int(entry_offset(c0, self.comp_counts, self.comp_checkpoints))
            e1 = e0 + int(counts.sum())
            terms.append(np.repeat(self.group_terms(g), counts))
            blocks.append(self.entry_block[e0:e1].astype(np.int64) + i * GROUP_BLOCKS)
            codes.append(self.entry_code[e0:e1])
        if not terms:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8)
        return np.concatenate(terms), np.concatenate(blocks), np.concatenate(codes)


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
    forward: ForwardIndex, postings: PostingLists, summary_energy: float, reserve: bool = True
) -> Summaries:
    """Summaries of all blocks, computed in parallel batches of lists and written straight into
    their final arrays, so the build holds one copy of them.

    The arrays are reserved at their upper bound (:func:`_reserve`); where the system refuses
    that (strict overcommit, ``vm.overcommit_memory = 2``), or with ``reserve=False``, a first
    pass only counts and the arrays are allocated at their exact size (the summaries are then
    computed twice; the directories are allocated at their bound and trimmed).
    """
    doc_nnz = np.diff(forward.indptr)[postings.post_docs]
    block_nnz = _segment_sums(doc_nnz, postings.block_ptr)
    bounds = _segment_sums(np.minimum(block_nnz, forward.vocab_size), postings.list_block_ptr)
    list_group_ptr = group_ptr(postings.list_block_ptr)
    n_groups = int(list_group_ptr[-1])
    word_bound = n_groups * -(-forward.vocab_size // WORD_BITS)
    word_comp_dtype = np.uint16 if forward.vocab_size <= 1 << 16 else np.uint32
    dtypes = (forward.terms.dtype, word_comp_dtype)
    outputs = None
    if reserve:
        try:
            capacity = int(bounds.sum())
            outputs = _allocate(_reserve, (capacity, capacity, word_bound, n_groups), dtypes)
        except OSError:
            outputs = None
    if outputs is None:
        comps_per_list, entries_per_list, *_ = _summarize_all(
            forward, postings, summary_energy, block_nnz, bounds, list_group_ptr, None
        )
        sizes = (int(comps_per_list.sum()), int(entries_per_list.sum()), word_bound, n_groups)
        outputs = _allocate(_zeros, sizes, dtypes)
    block_min, block_scale, filled = _summarize_all(
        forward, postings, summary_energy, block_nnz, bounds, list_group_ptr, outputs
    )[2:]
    n_comps, n_entries, n_terms, n_words = (int(n) for n in filled)
    (comp_terms, word_bits, word_comp, comp_counts, entry_block, entry_code, group_comp_ptr,
     group_terms_ptr, group_words_ptr, group_word0) = outputs  # fmt: skip
    comp_counts = comp_counts[:n_comps]
    return Summaries(
        list_group_ptr.astype(offsets_dtype(n_groups)),
        group_comp_ptr.astype(offsets_dtype(n_comps)),
        group_terms_ptr.astype(offsets_dtype(n_terms)),
        group_words_ptr.astype(offsets_dtype(n_words)),
        group_word0,
        comp_terms[:n_terms].copy(),
        word_bits[:n_words].copy(),
        word_comp[:n_words].copy(),
        comp_counts,
        _checkpoints(comp_counts, np.zeros(0, offsets_dtype(n_entries))),
        entry_block[:n_entries],
        entry_code[:n_entries],
        block_min,
        block_scale,
    )


def _zeros(size: int, dtype) -> np.ndarray:
    return np.zeros(size, dtype)


def _allocate(make, sizes: tuple[int, int, int, int], dtypes) -> tuple[np.ndarray, ...]:
    """Output arrays for ``sizes`` = (components, entries, directory words, groups): terms,
    bitmap words and their ranks, counts, block numbers, codes, and the per-group offsets
    (the arrays of :class:`Summaries` from ``group_comp_ptr`` to ``entry_code``)."""
    n_comps, n_entries, n_words, n_groups = sizes
    term_dtype, word_comp_dtype = dtypes
    return (
        make(n_comps, term_dtype),
        make(n_words, np.uint64),
        make(n_words, word_comp_dtype),
        make(n_comps, np.uint8),
        make(n_entries, np.uint8),
        make(n_entries, np.uint8),
        np.zeros(n_groups + 1, np.int64),
        np.zeros(n_groups + 1, np.int64),
        np.zeros(n_groups + 1, np.int64),
        np.zeros(n_groups, np.int32),
    )


def _summarize_all(forward, postings, summary_energy, block_nnz, bounds, list_group_ptr, outputs):
    """Summarize every list, batch after batch, appending to ``outputs`` (from
    :func:`_allocate`; ``None`` only counts). Returns components and entries per list, the
    blocks' quantization parameters and how much of each output was written."""
    n_lists = len(postings.list_block_ptr) - 1
    list_offsets = postings.block_ptr[postings.list_block_ptr]
    block_sizes = np.diff(postings.block_ptr).astype(np.int64)
    block_min = np.zeros(postings.n_blocks, dtype=np.float32)
    block_scale = np.zeros(postings.n_blocks, dtype=np.float32)
    comps_per_list = np.zeros(n_lists, dtype=np.int64)
    entries_per_list = np.zeros(n_lists, dtype=np.int64)
    group_comps = np.zeros(int(list_group_ptr[-1]), dtype=np.int64)
    filled = np.zeros(4, dtype=np.int64)  # components, entries, sparse terms, dense words
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
                lists, scratch_base, n_comps, n_entries, list_group_ptr, group_comps,
                comp_terms, comp_counts, entry_block, entry_code, *outputs, filled,
            )  # fmt: skip
        release_free_memory()
    return comps_per_list, entries_per_list, block_min, block_scale, filled


@njit(nogil=True, cache=True)
def _append_batch(
    lists, scratch_base, n_comps, n_entries, list_group_ptr, group_comps, comp_terms,
    comp_counts, entry_block, entry_code, out_terms, out_words, out_word_comp, out_counts,
    out_block, out_codes, group_comp_ptr, group_terms_ptr, group_words_ptr, group_word0, filled,
):  # fmt: skip
    """Append each list's used part of its scratch region to the final arrays, with each
    group's directory in the smaller layout; ``filled`` holds (and is advanced to) how much
    of each is written."""
    c, e, n_terms, n_words = filled[0], filled[1], filled[2], filled[3]
    word_bytes = 8 + out_word_comp.itemsize
    for i in range(len(lists)):
        base = scratch_base[i]
        j = base
        for g in range(list_group_ptr[lists[i]], list_group_ptr[lists[i] + 1]):
            n = group_comps[g]
            if n > 0:
                word0 = np.int64(comp_terms[j]) // WORD_BITS
                span = np.int64(comp_terms[j + n - 1]) // WORD_BITS - word0 + 1
            else:
                word0, span = 0, 0
            group_word0[g] = word0
            if n > 0 and span * word_bytes < n * out_terms.itemsize:
                for w in range(n_words, n_words + span):
                    out_words[w] = 0
                for r in range(n):
                    local = np.int64(comp_terms[j + r]) - word0 * WORD_BITS
                    w = n_words + local // WORD_BITS
                    if out_words[w] == 0:
                        out_word_comp[w] = r
                    out_words[w] |= np.uint64(1) << np.uint64(local % WORD_BITS)
                n_words += span
            else:
                for r in range(n):
                    out_terms[n_terms + r] = comp_terms[j + r]
                n_terms += n
            for r in range(n):
                out_counts[c + r] = comp_counts[j + r]
            c += n
            j += n
            group_comp_ptr[g + 1] = c
            group_terms_ptr[g + 1] = n_terms
            group_words_ptr[g + 1] = n_words
        for r in range(n_entries[i]):
            out_block[e + r] = entry_block[base + r]
            out_codes[e + r] = entry_code[base + r]
        e += n_entries[i]
    filled[0], filled[1], filled[2], filled[3] = c, e, n_terms, n_words


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
