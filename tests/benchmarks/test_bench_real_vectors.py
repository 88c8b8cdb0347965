"""Real vectors for the benchmark: encoded once with lsr.encoders, then read from the cache."""

from __future__ import annotations

import gzip
import json

from conftest import SPLADE_TINY, requires_shared

from benchmarks.real_vectors import load_encoded


@requires_shared
def test_encodes_a_beir_folder_once_then_reads_the_cache(tmp_path):
    data = tmp_path / "tiny"
    (data / "qrels").mkdir(parents=True)
    with gzip.open(data / "corpus.jsonl.gz", "wt") as handle:
        for i, text in enumerate(["breast cancer in women", "heat conduction in slabs"]):
            handle.write(json.dumps({"_id": f"d{i}", "title": "", "text": text}) + "\n")
    with gzip.open(data / "queries.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"_id": "q1", "text": "what causes breast cancer"}) + "\n")
        handle.write(json.dumps({"_id": "q2", "text": "not in the test split"}) + "\n")
    (data / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td0\t1\n")
    docs, queries = load_encoded(data, SPLADE_TINY, tmp_path / "cache")
    assert docs.ids == ["d0", "d1"] and queries.ids == ["q1"]
    assert docs.vocab_size == 30_522 and docs.nnz > 10
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert cached == ["tiny-splade-tiny-docs.parquet", "tiny-splade-tiny-queries-test.parquet"]
    again, _ = load_encoded(data, SPLADE_TINY, tmp_path / "cache")
    assert again.nnz == docs.nnz
