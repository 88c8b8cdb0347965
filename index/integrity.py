"""Structural checks of a loaded index: every value a search kernel uses as an array position is
in range, so a damaged index fails to load instead of crashing the process that searches it.

The kernels (:mod:`index.search`, :mod:`index.summary`) have no bounds checks in their loops, so
one flipped byte in ``post_docs`` or ``forward.indptr`` would make them read (or write) outside
an array: a segfault, or a loop over billions of entries, in every request of a server.
:meth:`SeismicIndex.load <index.seismic.SeismicIndex.load>` therefore checks, vectorised:

- offsets (``forward.indptr``, ``list_block_ptr``, ``block_ptr``, the summaries' group offsets,
  ``doc_id_offsets``) start at 0, never decrease and end at the length of what they index;
- document ids (``post_docs``, ``knn``) below the number of documents, term ids (``forward.terms``,
  or the ids of each row of ``forward.rows``, twice the entries long) below the vocabulary size;
  document ids valid UTF-8 cut at characters;
- the summaries' layout: every array of the length the others imply, the group offsets
  (``list_group_ptr``, ``group_comp_ptr``, ``group_terms_ptr``, ``group_words_ptr``,
  ``group_entry_ptr``, ``group_block_ptr``) as above, 256 blocks a group, and a block number
  for every entry of a group that is not masked, none for one that is.

Not scanned, by design: the summaries' entries and directories (``comp_counts``,
``comp_checkpoints``, ``comp_terms``, ``word_bits``, ``word_comp``, ``entry_block``): 172
million components and 450 million entries in a 200k-document index, where checking the counts
against the checkpoints alone took 0.46 s (1M documents: ~4x that). The one kernel that reads
them bounds every access instead (:func:`index.summary.score_summaries`: component ranks to the
group, entry ranges to the group's, block numbers to the group),
so damage there can only misdirect summary scores. Weights (``forward.values`` or the weight
halves of ``forward.rows``, ``entry_code``,
``block_min``, ``block_scale``) are only ever multiplied, never used as positions: a damaged one
changes scores. Both are what the checksums of ``verify=True`` are for.

The checks read the offsets, the forward index's term ids and ``post_docs``: on memory-mapped
files, that part of the index is paged in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from lsr.index.forward import SIDE_BY_SIDE, Forward
from lsr.index.postings import PostingLists
from lsr.index.summary import CHECKPOINT_STRIDE, GROUP_BLOCKS, Summaries, group_ptr

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
    forward: Forward,
    postings: PostingLists,
    summaries: Summaries,
    knn: np.ndarray,
) -> None:
    """Raise :class:`~lsr.errors.IndexFormatError`, naming the file and the fault, unless every
    array of a loaded index fits the others (see the module docstring)."""
    check_documents(directory, n_docs, doc_id_bytes, doc_id_offsets, forward)
    where = _Where(Path(directory))
    _check_postings(where, n_docs, forward.vocab_size, postings)
    _check_summaries(where, postings, summaries, forward.vocab_size)
    if knn.ndim != 2 or knn.shape[0] != n_docs:
        raise where.fail("knn", f"shape {knn.shape}, expected ({n_docs}, neighbours)")
    _check_range(where, "knn", knn, -1, n_docs, "document ids")


def check_documents(
    directory: str | os.PathLike,
    n_docs: int,
    doc_id_bytes: np.ndarray,
    doc_id_offsets: np.ndarray,
    forward: Forward,
) -> None:
    """The ids and the forward index alone (all an exact segment of a living index holds)."""
    where = _Where(Path(directory))
    _check_doc_ids(where, n_docs, doc_id_bytes, doc_id_offsets)
    _check_forward(where, n_docs, forward)


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


def _check_forward(where: _Where, n_docs: int, forward: Forward) -> None:
    if forward.layout == SIDE_BY_SIDE:
        ids = "forward.rows"
        if len(forward.rows) % 2:
            raise where.fail(ids, f"{len(forward.rows)} entries, not an id and a weight each")
        nnz = len(forward.rows) // 2
    else:
        ids, nnz = "forward.terms", len(forward.terms)
        if len(forward.values) != nnz:
            raise where.fail("forward.values", f"{len(forward.values)} weights for {nnz} terms")
    _check_offsets(where, "forward.indptr", forward.indptr, n_docs + 1, nnz)
    low, high = forward.term_range()
    if low < 0 or high >= forward.vocab_size:
        bad = low if low < 0 else high
        raise where.fail(ids, f"holds term ids {bad}, outside [0, {forward.vocab_size})")


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
    """Lengths and the group offsets; the entries themselves are bounded by the kernel."""
    n_groups = len(summaries.group_word0)
    n_comps = len(summaries.comp_counts)
    lengths = {
        "comp_checkpoints": (len(summaries.comp_checkpoints), -(-n_comps // CHECKPOINT_STRIDE)),
        "word_comp": (len(summaries.word_comp), len(summaries.word_bits)),
        "block_min": (len(summaries.block_min), postings.n_blocks),
        "block_scale": (len(summaries.block_scale), postings.n_blocks),
    }
    for name, (found, expected) in lengths.items():
        if found != expected:
            raise where.fail(name, f"{found} entries, the rest of the index implies {expected}")
    _check_offsets(where, "list_group_ptr", summaries.list_group_ptr, vocab_size + 1, n_groups)
    if not np.array_equal(summaries.list_group_ptr, group_ptr(postings.list_block_ptr)):
        raise where.fail("list_group_ptr", f"not {GROUP_BLOCKS} blocks a group")
    for name, total in (
        ("group_comp_ptr", n_comps),
        ("group_terms_ptr", len(summaries.comp_terms)),
        ("group_words_ptr", len(summaries.word_bits)),
        ("group_entry_ptr", summaries.n_entries),
        ("group_block_ptr", len(summaries.entry_block)),
    ):
        _check_offsets(where, name, getattr(summaries, name), n_groups + 1, total)
    _check_block_numbers(where, postings, summaries)


def _check_block_numbers(where: _Where, postings: PostingLists, summaries: Summaries) -> None:
    """A group has a block number for each of its entries, or none where it is masked: the
    kernel bounds each component's entries to its group's, so this keeps the block numbers it
    reads inside the group's too."""
    n_blocks = np.diff(postings.list_block_ptr.astype(np.int64))
    groups = np.diff(summaries.list_group_ptr.astype(np.int64))
    list_of_group = np.repeat(np.arange(len(n_blocks)), groups)
    rank = np.arange(len(list_of_group)) - np.repeat(summaries.list_group_ptr[:-1], groups)
    group_blocks = np.minimum(n_blocks[list_of_group] - rank * GROUP_BLOCKS, GROUP_BLOCKS)
    entries = np.diff(summaries.group_entry_ptr.astype(np.int64))
    expected = np.where(group_blocks <= summaries.mask_blocks, 0, entries)
    found = np.diff(summaries.group_block_ptr.astype(np.int64))
    wrong = np.flatnonzero(found != expected)
    if len(wrong):
        g = int(wrong[0])
        raise where.fail(
            "group_block_ptr",
            f"group {g} has {int(found[g])} block numbers, expected {expected[g]}",
        )
