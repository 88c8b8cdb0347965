"""benchmarks.living: post-filtering keeps the allowed documents of the unfiltered top-k, in
order, and the report renders every figure."""

from __future__ import annotations

import numpy as np
from lsr.index import BuildConfig
from lsr.index.filters import parse
from lsr.index.living import LivingIndex

from benchmarks.living import K, filtered_row, markdown, post_filter
from benchmarks.provenance import record
from lsr.vectors import SparseCollection, VectorMetadata

METADATA = VectorMetadata(40)


def vectors(ids: list[str], seed: int) -> SparseCollection:
    rng = np.random.default_rng(seed)
    rows = [(rng.choice(40, size=6, replace=False), rng.random(6) + 0.1) for _ in ids]
    return SparseCollection.from_rows(ids, rows, METADATA)


QUERIES = vectors([f"q{i}" for i in range(6)], seed=2)
IDS = [f"d{i}" for i in range(60)]
ATTRIBUTES = {doc_id: {"bucket": i % 100} for i, doc_id in enumerate(IDS)}


def test_post_filter_is_the_allowed_part_of_the_unfiltered_top(tmp_path):
    with LivingIndex.open(tmp_path, METADATA, BuildConfig(n_postings=10**6)) as index:
        index.add(vectors(IDS, seed=1), ATTRIBUTES)
        reader = index.reader
        filter_ = parse({"must": [{"key": "bucket", "range": {"lt": 30}}]})
        post = post_filter(reader, QUERIES, filter_, post_k=20)
        unfiltered = reader.search_batch(QUERIES, k=20)
        for q in range(len(QUERIES)):
            expected = [d for d in unfiltered.docs[q].tolist() if 0 <= d < 30][:K]
            assert [d for d in post.docs[q].tolist() if d >= 0] == expected
        row = filtered_row(reader, QUERIES, 0.3, 100.0, {"post_k": 20, "rounds": 1})
    assert row["allowed"] == 30 and row["accuracy"]["scan"] == 1.0
    segments = {
        "add_seconds": 1.0, "rebuild_seconds": 5.0, "base_build_seconds": 4.0,
        "add_over_rebuild": 0.2, "latency_us": {"added segment": 110.0, "rebuild": 100.0},
        "latency_ratio": 1.1, "accuracy": {"added segment": 0.99, "rebuild": 0.995},
        "segments": [],
    }  # fmt: skip
    result = {
        "n_docs": 50, "added": 10, "n_queries": 6, "build_config": {}, "search_defaults": {},
        "scan_fraction": 0.02, "rebuild_seconds": 5.0, "unfiltered_us": 100.0,
        "segments": segments, "filtered": [row],
    }  # fmt: skip
    payload = {
        "provenance": record("x", allow_dirty=True),
        "options": {"post_k": 20},
        "result": result,
    }
    text = markdown(payload)
    assert "| latency (µs) | 110 | 100 | 1.100 | <= 1.2 |" in text
    # 30 of 60 allowed: query_cut ceil(10 x 0.5 ** -0.6) = ceil(15.2) = 16.
    assert np.isfinite(row["over_unfiltered"]["ours"]) and "| 30% | 30 (16) |" in text
    result["segments"] = None  # --filtered-only
    assert "Added segment not measured (--filtered-only)" in markdown(payload)
