"""Blocking: partition each posting list into clusters of similar documents (Seismic, Section 4.2).

A block is only worth skipping as a whole if its documents resemble each other, so that one
summary describes them all. Seismic clusters each pruned list with one pass of "shallow" random
k-means by inner product (``utils.rs``, ``do_random_kmeans_on_docids_ii_approx_dot_product``):

1. ``max(1, int(centroid_fraction * len))`` centroids are sampled among the list's documents;
2. each document goes to the centroid of largest inner product, computed with only the
   document's ``doc_cut`` largest entries against the centroids' full vectors (an inverted index
   over the centroids makes this cheap);
3. clusters of at most ``min_cluster_size`` documents are dissolved and their documents assigned
   again, to the best of the surviving centroids.

Blocks are laid out by increasing centroid document position, and documents within a block by
increasing position, as in the reference. Ties in step 2 go to the lower centroid index; the
sample is seeded per list, so builds are reproducible and independent of thread scheduling.
"""

from __future__ import annotations

import numpy as np
from lsr.index.forward import decode
from numba import njit, prange

#: Blocks of a list are numbered with uint16 inside the summaries (as in the reference).
MAX_BLOCKS_PER_LIST = (1 << 16) - 1


@njit(nogil=True, cache=True, parallel=True)
def top_entries(indptr, terms, values, doc_cut):
    """Each document's ``doc_cut`` largest entries (ties: lower term id), padded with -1."""
    n_docs = len(indptr) - 1
    top_terms = np.full((n_docs, doc_cut), -1, dtype=np.int32)
    top_values = np.zeros((n_docs, doc_cut), dtype=np.float32)
    for d in prange(n_docs):
        lo, hi = indptr[d], indptr[d + 1]
        weights = np.empty(hi - lo, dtype=np.float32)
        for p in range(lo, hi):
            weights[p - lo] = decode(values, p)
        order = np.argsort(-weights, kind="mergesort")
        for i in range(min(doc_cut, hi - lo)):
            top_terms[d, i] = terms[lo + order[i]]
            top_values[d, i] = weights[order[i]]
    return top_terms, top_values


@njit(nogil=True, cache=True)
def _centroid_postings(indptr, terms, values, centroids, term_count, term_start):
    """Inverted index of the centroids' full vectors: for every term, (centroid, weight) pairs.

    ``term_count`` / ``term_start`` are vocabulary-sized scratch arrays (zero on entry and on
    exit), so building costs the centroids' size, not the vocabulary's.
    """
    n_entries = 0
    for c in range(len(centroids)):
        d = centroids[c]
        n_entries += indptr[d + 1] - indptr[d]
        for p in range(indptr[d], indptr[d + 1]):
            term_count[terms[p]] += 1
    touched = np.empty(n_entries, dtype=np.int64)
    n_touched = 0
    start = 0
    for c in range(len(centroids)):
        d = centroids[c]
        for p in range(indptr[d], indptr[d + 1]):
            t = terms[p]
            if term_count[t] > 0:
                term_start[t] = start
                start += term_count[t]
                touched[n_touched] = t
                n_touched += 1
                term_count[t] = -term_count[t]  # marks "placed"; restored below
    for i in range(n_touched):
        term_count[touched[i]] = 0
    post_centroid = np.empty(n_entries, dtype=np.int32)
    post_weight = np.empty(n_entries, dtype=np.float32)
    for c in range(len(centroids)):
        d = centroids[c]
        for p in range(indptr[d], indptr[d + 1]):
            t = terms[p]
            slot = term_start[t] + term_count[t]
            term_count[t] += 1
            post_centroid[slot] = c
            post_weight[slot] = decode(values, p)
    return touched[:n_touched], post_centroid, post_weight


@njit(nogil=True, cache=True)
def _best_centroid(
    top_terms, top_values, doc, term_count, term_start, post_centroid, post_weight, removed, scores
):
    """Centroid of largest inner product with the document's top entries (not a removed one)."""
    for i in range(top_terms.shape[1]):
        t = top_terms[doc, i]
        if t < 0:
            break
        for s in range(term_start[t], term_start[t] + term_count[t]):
            scores[post_centroid[s]] += post_weight[s] * top_values[doc, i]
    best = -1
    best_score = np.float32(0.0)
    for c in range(len(scores)):
        if not removed[c] and (best < 0 or scores[c] > best_score):
            best = c
            best_score = scores[c]
        scores[c] = 0.0
    return max(best, 0)


@njit(nogil=True, cache=True)
def _cluster_list(
    docs, indptr, terms, values, top_terms, top_values, n_centroids, min_cluster_size,
    seed, term_count, term_start, block_sizes,
):  # fmt: skip
    """Reorder one list's ``docs`` in place into blocks; write the block sizes, return their count."""
    n = len(docs)
    # Numba implements only the legacy global-state API; seeding per list keeps it reproducible.
    np.random.seed(seed)  # noqa: NPY002
    centroids = docs[np.random.permutation(n)[:n_centroids]].copy()  # noqa: NPY002
    touched, post_centroid, post_weight = _centroid_postings(
        indptr, terms, values, centroids, term_count, term_start
    )
    removed = np.zeros(n_centroids, dtype=np.bool_)
    scores = np.zeros(n_centroids, dtype=np.float32)
    assignment = np.empty(n, dtype=np.int64)
    for i in range(n):
        assignment[i] = _best_centroid(
            top_terms, top_values, docs[i], term_count, term_start, post_centroid, post_weight,
            removed, scores,
        )  # fmt: skip
    sizes = np.zeros(n_centroids, dtype=np.int64)
    for i in range(n):
        sizes[assignment[i]] += 1
    any_removed = False
    for c in range(n_centroids):
        if 0 < sizes[c] <= min_cluster_size:
            removed[c] = True
            any_removed = True
    if any_removed:
        for i in range(n):
            if removed[assignment[i]]:
                assignment[i] = _best_centroid(
                    top_terms, top_values, docs[i], term_count, term_start, post_centroid,
                    post_weight, removed, scores,
                )  # fmt: skip
    for i in range(len(touched)):
        term_count[touched[i]] = 0
    keys = np.empty(n, dtype=np.int64)
    for i in range(n):
        keys[i] = np.int64(centroids[assignment[i]]) * (1 << 32) + docs[i]
    order = np.argsort(keys)
    original = docs.copy()
    n_blocks = 0
    for i in range(n):
        docs[i] = original[order[i]]
        if i == 0 or assignment[order[i]] != assignment[order[i - 1]]:
            n_blocks += 1
            block_sizes[n_blocks - 1] = 0
        block_sizes[n_blocks - 1] += 1
    return n_blocks


@njit(nogil=True, cache=True, parallel=True)
def cluster_lists(
    list_offsets, list_docs, indptr, terms, values, top_terms, top_values,
    n_centroids, block_base, min_cluster_size, seed, vocab_size, schedule, n_chunks,
):  # fmt: skip
    """Cluster every list (in place); returns the number of blocks of each list.

    ``block_base[t]`` is where list ``t`` writes its block sizes into the returned array (room
    for ``n_centroids[t]``). Lists are visited in ``schedule`` order, dealt round-robin to
    ``n_chunks`` workers so that long and short lists mix in every chunk.
    """
    n_lists = len(list_offsets) - 1
    n_blocks = np.zeros(n_lists, dtype=np.int64)
    block_sizes = np.zeros(block_base[-1], dtype=np.int64)
    for chunk in prange(n_chunks):
        term_count = np.zeros(vocab_size, dtype=np.int64)
        term_start = np.zeros(vocab_size, dtype=np.int64)
        for i in range(chunk, len(schedule), n_chunks):
            t = schedule[i]
            lo, hi = list_offsets[t], list_offsets[t + 1]
            if hi == lo:
                continue
            n_blocks[t] = _cluster_list(
                list_docs[lo:hi], indptr, terms, values, top_terms, top_values,
                n_centroids[t], min_cluster_size, seed + t, term_count, term_start,
                block_sizes[block_base[t] : block_base[t + 1]],
            )  # fmt: skip
    return n_blocks, block_sizes
