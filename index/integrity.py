"""Structural checks of a loaded index: every value a search kernel uses as an array position is
in range, so a damaged index fails to load instead of crashing the process that searches it.

The kernels (:mod:`index.search`, :mod:`index.summary`) have no bounds checks in their loops, so
one flipped byte in ``post_docs`` or ``forward.indptr`` would make them read (or write) outside
an array: a segfault, or a loop over billions of entries, in every request of a server.
:meth:`SeismicIndex.load <index.seismic.SeismicIndex.load>` therefore checks, vectorised:

- offsets (``forward.indptr``, ``list_block_ptr``, ``block_ptr``, ``list_comp_ptr``,
  ``doc_id_offsets``) start at 0, never decrease and end at the length of what they index;
- document ids (``post_docs``, ``knn``) below the number of documents, term ids
  (``forward.terms``) below the vocabulary size; document ids valid UTF-8 cut at characters;
- the summaries' layout: every array of the length the others imply, the entry checkpoints
  equal to the running sum of the component counts, and each list's block-number offset
  (``list_block_shift``) the one the entry counts imply, so that every entry a list reads lies in
  the list's own part of ``entry_block8`` / ``entry_block16``.

Not scanned, by design: the block number of every summary entry (``entry_block8/16``, about 1.8
billion entries in a 1M-document index, seconds to read from disk). The one kernel that uses
them clamps each to its list's last block instead (:func:`index.summary.score_summaries`), so a
damaged one can only misdirect one summary score. Weights (``forward.values``, ``entry_code``,
``block_min``, ``block_scale``) are only ever multiplied, never used as positions: a damaged one
changes scores, which the checksums of ``verify=True`` catch.

The checks read the offsets, ``forward.terms``, ``post_docs`` and the component counts: on
memory-mapped files, that part of the index is paged in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from lsr.index.forward import ForwardIndex
from lsr.index.postings import PostingLists
from lsr.index.summary import CHECKPOINT_STRIDE, NARROW_BLOCKS, Summaries, block_shifts

from lsr.errors import IndexFormatError


@dataclass(frozen=True)
class _Where:
    """Names the file of an array in the errors."""

    directory: Path

    def fail(self, name: str, problem: str) -> IndexFormatError:
        return IndexFormatError(f"{self.directory / (name + '.npy')}: {problem}")


def check_index(
    directory: str | os.PathLike,
    n_docs: int,
    doc_id_bytes: np.ndarray,
    doc_id_offsets: np.ndarray,
    forward: ForwardIndex,
    postings: PostingLists,
    summaries: Summaries,
    knn: np.ndarray,
) -> None:
    """Raise :class:`~lsr.errors.IndexFormatError`, naming the file and the fault, unless every
    array of a loaded index fits the others (see the module docstring)."""
    where = _Where(Path(directory))
    _check_doc_ids(where, n_docs, doc_id_bytes, doc_id_offsets)
    _check_forward(where, n_docs, forward)
    _check_postings(where, n_docs, forward.vocab_size, postings)
    _check_summaries(where, postings, summaries, forward.vocab_size)
    if knn.ndim != 2 or knn.shape[0] != n_docs:
        raise where.fail("knn", f"shape {knn.shape}, expected ({n_docs}, neighbours)")
    _check_range(where, "knn", knn, -1, n_docs, "document ids")


def _check_offsets(where: _Where, name: str, offsets: np.ndarray, length: int, total: int) -> None:
    """``offsets`` has ``length`` entries, starts at 0, never decreases and ends at ``total``."""
    if len(offsets) != length:
        raise where.fail(name, f"{len(offsets)} offsets, expected {length}")
    if int(offsets[0]) != 0 or int(offsets[-1]) != total:
        raise where.fail(
            name, f"offsets run from {int(offsets[0])} to {int(offsets[-1])}, expected 0 to {total}"
        )
    decreasing = np.flatnonzero(offsets[1:] < offsets[:-1])
    if len(decreasing):
        raise where.fail(name, f"offset {int(decreasing[0]) + 1} is smaller than the one before")


def _check_range(
    where: _Where, name: str, values: np.ndarray, low: int, high: int, what: str
) -> None:
    """Every value in ``[low, high)``."""
    if values.size == 0:
        return
    smallest, largest = int(values.min()), int(values.max())
    if smallest < low or largest >= high:
        bad = smallest if smallest < low else largest
        raise where.fail(name, f"holds {what} {bad}, outside [{low}, {high})")


def _check_doc_ids(where: _Where, n_docs: int, data: np.ndarray, offsets: np.ndarray) -> None:
    _check_offsets(where, "doc_id_offsets", offsets, n_docs + 1, len(data))
    raw = np.asarray(data)
    try:
        raw.tobytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise where.fail("doc_id_bytes", f"not UTF-8 at byte {exc.start}") from None
    starts = offsets[:-1][offsets[1:] > offsets[:-1]]
    inside = np.flatnonzero((raw[starts] & 0xC0) == 0x80)  # a UTF-8 continuation byte
    if len(inside):
        raise where.fail("doc_id_offsets", f"id {int(inside[0])} starts inside a UTF-8 character")


def _check_forward(where: _Where, n_docs: int, forward: ForwardIndex) -> None:
    if len(forward.values) != len(forward.terms):
        raise where.fail(
            "forward.values", f"{len(forward.values)} weights for {len(forward.terms)} terms"
        )
    _check_offsets(where, "forward.indptr", forward.indptr, n_docs + 1, len(forward.terms))
    _check_range(where, "forward.terms", forward.terms, 0, forward.vocab_size, "term ids")


def _check_postings(where: _Where, n_docs: int, vocab_size: int, postings: PostingLists) -> None:
    _check_offsets(
        where, "list_block_ptr", postings.list_block_ptr, vocab_size + 1, postings.n_blocks
    )
    _check_offsets(
        where, "block_ptr", postings.block_ptr, postings.n_blocks + 1, len(postings.post_docs)
    )
    _check_range(where, "post_docs", postings.post_docs, 0, n_docs, "document ids")


def _check_summaries(
    where: _Where, postings: PostingLists, summaries: Summaries, vocab_size: int
) -> None:
    n_comps, n_entries = len(summaries.comp_terms), summaries.n_entries
    lengths = {
        "comp_counts": (len(summaries.comp_counts), n_comps),
        "comp_checkpoints": (len(summaries.comp_checkpoints), -(-n_comps // CHECKPOINT_STRIDE)),
        "list_block_shift": (len(summaries.list_block_shift), vocab_size),
        "block_min": (len(summaries.block_min), postings.n_blocks),
        "block_scale": (len(summaries.block_scale), postings.n_blocks),
        "entry_block16": (
            len(summaries.entry_block8) + len(summaries.entry_block16),
            n_entries,
        ),
    }
    for name, (found, expected) in lengths.items():
        if found != expected:
            raise where.fail(name, f"{found} entries, the rest of the index implies {expected}")
    _check_offsets(where, "list_comp_ptr", summaries.list_comp_ptr, vocab_size + 1, n_comps)
    ends = _check_checkpoints(where, summaries, n_entries)
    list_entries = _list_entry_starts(summaries, ends, n_entries)
    wide = np.diff(postings.list_block_ptr) > NARROW_BLOCKS
    narrow_total = int(np.diff(list_entries)[~wide].sum())
    if narrow_total != len(summaries.entry_block8):
        raise where.fail(
            "entry_block8", f"{len(summaries.entry_block8)} entries, the lists hold {narrow_total}"
        )
    expected = block_shifts(np.diff(list_entries), wide)
    wrong = np.flatnonzero(summaries.list_block_shift != expected)
    if len(wrong):
        raise where.fail(
            "list_block_shift", f"list {int(wrong[0])}'s shift does not fit its entry counts"
        )


def _check_checkpoints(where: _Where, summaries: Summaries, n_entries: int) -> np.ndarray:
    """Every checkpoint equals the running sum of the counts before it, and all counts sum to the
    entries; returns the running sum at the end of each checkpoint's stride."""
    counts = summaries.comp_counts
    if len(counts) == 0:
        if n_entries:
            raise where.fail("comp_counts", f"no components for {n_entries} entries")
        return np.zeros(0, dtype=np.int64)
    strides = np.arange(0, len(counts), CHECKPOINT_STRIDE)
    ends = np.cumsum(np.add.reduceat(counts, strides, dtype=np.int64))
    if int(ends[-1]) != n_entries:
        raise where.fail("comp_counts", f"counts sum to {int(ends[-1])}, not {n_entries} entries")
    starts = np.concatenate([[0], ends[:-1]])
    wrong = np.flatnonzero(summaries.comp_checkpoints != starts)
    if len(wrong):
        raise where.fail(
            "comp_checkpoints",
            f"checkpoint {int(wrong[0])} is {int(summaries.comp_checkpoints[wrong[0]])}, "
            f"the counts give {int(starts[wrong[0]])}",
        )
    return ends


def _list_entry_starts(summaries: Summaries, ends: np.ndarray, n_entries: int) -> np.ndarray:
    """Entry offset of every list's first component and of the end (``vocab_size + 1``
    values): the checkpoint of its stride plus the counts before it in the stride."""
    first = np.asarray(summaries.list_comp_ptr, dtype=np.int64)
    stride, within = np.divmod(first, CHECKPOINT_STRIDE)
    base = np.concatenate([[0], ends])[stride]
    steps = np.arange(CHECKPOINT_STRIDE - 1)
    positions = np.minimum(
        (first - within)[:, None] + steps, max(len(summaries.comp_counts) - 1, 0)
    )
    counts = np.asarray(summaries.comp_counts)
    partial = np.where(steps < within[:, None], counts[positions] if len(counts) else 0, 0)
    starts = base + partial.sum(axis=1)
    starts[first == len(counts)] = n_entries
    return starts
