"""Posting lists split into blocks: the pruned, clustered lists Seismic searches.

Layout (all lists concatenated): list ``t`` owns blocks ``list_block_ptr[t]:list_block_ptr[t+1]``
and block ``b`` owns documents ``post_docs[block_ptr[b]:block_ptr[b+1]]``; a document is its
position in the forward index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from lsr.index.clustering import MAX_BLOCKS_PER_LIST, cluster_lists, top_entries
from lsr.index.forward import ForwardIndex


def offsets_dtype(largest: int) -> np.dtype:
    """int32 offsets when they fit (half the bytes), int64 otherwise."""
    return np.dtype(np.int32) if largest < np.iinfo(np.int32).max else np.dtype(np.int64)


@dataclass
class PostingLists:
    list_block_ptr: np.ndarray
    block_ptr: np.ndarray
    post_docs: np.ndarray

    @property
    def n_blocks(self) -> int:
        return len(self.block_ptr) - 1

    @property
    def nbytes(self) -> int:
        return self.list_block_ptr.nbytes + self.block_ptr.nbytes + self.post_docs.nbytes

    def list_lengths(self) -> np.ndarray:
        return self.block_ptr[self.list_block_ptr[1:]] - self.block_ptr[self.list_block_ptr[:-1]]


def centroid_counts(lengths: np.ndarray, centroid_fraction: float) -> np.ndarray:
    """``max(1, int(centroid_fraction * len))`` per non-empty list (0 for empty lists)."""
    counts = np.maximum(1, (np.float32(centroid_fraction) * lengths).astype(np.int64))
    return np.where(lengths > 0, np.minimum(counts, MAX_BLOCKS_PER_LIST), 0)


def cluster(
    forward: ForwardIndex,
    list_offsets: np.ndarray,
    list_docs: np.ndarray,
    centroid_fraction: float,
    doc_cut: int,
    min_cluster_size: int,
    seed: int,
) -> PostingLists:
    """Blocks of the pruned lists (:mod:`index.pruning`), by clustering each one
    (:mod:`index.clustering`), with offsets and document ids in their narrowest types."""
    lengths = np.diff(list_offsets)
    n_centroids = centroid_counts(lengths, centroid_fraction)
    block_base = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(n_centroids, out=block_base[1:])
    top_terms, top_values = top_entries(forward.indptr, forward.terms, forward.values, doc_cut)
    # Longest lists first, dealt round-robin: every worker gets a share of the expensive ones.
    schedule = np.argsort(-lengths, kind="stable")[: int(np.count_nonzero(lengths))]
    n_blocks, block_sizes = cluster_lists(
        list_offsets, list_docs, forward.indptr, forward.terms, forward.values,
        top_terms, top_values, n_centroids, block_base, min_cluster_size, seed,
        forward.vocab_size, schedule, max(1, min(len(schedule), 8 * numba.get_num_threads())),
    )  # fmt: skip
    rank_in_list = np.arange(block_base[-1]) - np.repeat(block_base[:-1], n_centroids)
    sizes = block_sizes[rank_in_list < np.repeat(n_blocks, n_centroids)]
    list_block_ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(n_blocks, out=list_block_ptr[1:])
    block_ptr = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=block_ptr[1:])
    doc_dtype = np.uint16 if len(forward) <= (1 << 16) else np.int32
    return PostingLists(
        list_block_ptr.astype(offsets_dtype(list_block_ptr[-1])),
        block_ptr.astype(offsets_dtype(block_ptr[-1])),
        list_docs.astype(doc_dtype),
    )
