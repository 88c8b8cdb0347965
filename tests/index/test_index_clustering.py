"""Blocking by shallow random k-means."""

from __future__ import annotations

import numpy as np
import pytest
from index_data import random_collection
from lsr.index.forward import ForwardIndex
from lsr.index.postings import centroid_counts, cluster
from lsr.index.pruning import prune


@pytest.fixture(scope="module")
def forward():
    return ForwardIndex.from_collection(random_collection(400, vocab_size=50, seed=11), "float32")


def blocks_of(postings, t):
    p = postings
    return [
        p.post_docs[p.block_ptr[b] : p.block_ptr[b + 1]].tolist()
        for b in range(p.list_block_ptr[t], p.list_block_ptr[t + 1])
    ]


def build(forward, centroid_fraction=0.1, min_cluster_size=2, seed=1):
    offsets, docs = prune(forward, "fixed_size", 10_000, 1.5)
    pruned = [sorted(docs[offsets[t] : offsets[t + 1]].tolist()) for t in range(50)]
    postings = cluster(forward, offsets, docs.copy(), centroid_fraction, 15, min_cluster_size, seed)
    return pruned, postings


def test_blocks_partition_each_list(forward):
    pruned, postings = build(forward)
    for t in range(50):
        blocks = blocks_of(postings, t)
        assert sorted(d for block in blocks for d in block) == pruned[t]
        assert all(block == sorted(block) for block in blocks)


def test_block_count_follows_centroid_fraction(forward):
    pruned, postings = build(forward, centroid_fraction=0.1, min_cluster_size=0)
    for t in range(50):
        assert 1 <= len(blocks_of(postings, t)) <= max(1, int(0.1 * len(pruned[t])))


def test_small_clusters_are_dissolved(forward):
    """Same seed, same centroids: dissolving leaves fewer small blocks. (Not none: as in the
    reference, a centroid that got no document in the first pass may collect a few later.)"""

    def small_blocks(min_cluster_size):
        _, postings = build(forward, centroid_fraction=0.3, min_cluster_size=min_cluster_size)
        return sum(len(b) <= 3 for t in range(50) for b in blocks_of(postings, t))

    assert small_blocks(3) < small_blocks(0) / 2


def test_clustering_is_reproducible(forward):
    _, first = build(forward, seed=5)
    _, second = build(forward, seed=5)
    np.testing.assert_array_equal(first.post_docs, second.post_docs)
    np.testing.assert_array_equal(first.block_ptr, second.block_ptr)


def test_centroid_counts():
    lengths = np.array([0, 1, 9, 10, 25, 10**6])
    assert centroid_counts(lengths, 0.1).tolist() == [0, 1, 1, 1, 2, 65_535]
