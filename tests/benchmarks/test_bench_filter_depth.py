"""benchmarks.filter_depth: a search returns only documents of the lists it visits, so its
accuracy@10 never exceeds the coverage at its query_cut; without pruning every list holds the
whole exact filtered top-10; the report renders."""

from __future__ import annotations

import numpy as np
from lsr.index import BuildConfig, SeismicIndex

from benchmarks.filter_depth import EVERY_LIST, markdown, row
from benchmarks.provenance import record
from lsr.vectors import SparseCollection, VectorMetadata


def vectors(n: int, size: int, seed: int, prefix: str) -> SparseCollection:
    """Terms drawn with popularity ~ 1/rank^0.8 (long lists for popular ones), log-normal
    weights."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, 501) ** 0.8
    popularity /= popularity.sum()
    rows = [
        (rng.choice(500, size=size, replace=False, p=popularity), rng.lognormal(0, 0.7, size))
        for _ in range(n)
    ]
    return SparseCollection.from_rows([f"{prefix}{i}" for i in range(n)], rows, VectorMetadata(500))


DOCS = vectors(3000, 20, seed=1, prefix="d")
QUERIES = vectors(30, 15, seed=2, prefix="q")
OPTIONS = {"query_cuts": [2, 5], "heap_factors": [0.8], "index": "x"}
ALLOWED = np.random.default_rng(0).integers(0, 100, size=len(DOCS)) < 20


def test_accuracy_never_exceeds_the_coverage_of_the_visited_lists():
    index = SeismicIndex.build(DOCS, BuildConfig(n_postings=40))
    found = row(index, QUERIES, ALLOWED, OPTIONS)
    assert found["allowed"] == ALLOWED.sum()
    for search in found["searches"]:
        assert search["accuracy"] <= found["coverage"][str(search["query_cut"])] + 1e-12
    assert found["coverage"][str(EVERY_LIST)] < 1.0  # pruned: some documents in no list
    payload = {
        "provenance": record("x", allow_dirty=True), "options": OPTIONS, "n_docs": len(DOCS),
        "n_queries": len(QUERIES), "rows": {"0.2": found},
    }  # fmt: skip
    assert f"| 5 | 0.8 | {found['searches'][1]['accuracy']:.4f} |" in markdown(payload)


def test_without_pruning_every_list_holds_the_exact_top10():
    index = SeismicIndex.build(DOCS, BuildConfig(n_postings=10**6))
    assert row(index, QUERIES, ALLOWED, OPTIONS)["coverage"][str(EVERY_LIST)] == 1.0
