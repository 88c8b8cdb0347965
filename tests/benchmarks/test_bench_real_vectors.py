"""Real vectors for the benchmark: encoded once with lsr.encoders, then read from the cache."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from conftest import SPLADE_TINY, requires_shared

from benchmarks.index import load_data
from benchmarks.real_vectors import load_encoded
from lsr.encoders import load
from lsr.errors import InputError


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


def _tiny_beir(folder):
    (folder / "qrels").mkdir(parents=True)
    with gzip.open(folder / "corpus.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"_id": "d0", "title": "Slabs", "text": "heat conduction"}) + "\n")
        handle.write(json.dumps({"_id": "d1", "title": "", "text": "breast cancer"}) + "\n")
    with gzip.open(folder / "queries.jsonl.gz", "wt") as handle:
        for i in range(3):
            handle.write(json.dumps({"_id": f"q{i}", "text": f"heat in slabs {i}"}) + "\n")
    rows = "".join(f"q{i}\td0\t1\n" for i in range(3))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows)
    return folder


@requires_shared
def test_the_harness_takes_a_beir_folder_of_ones_own_by_path(tmp_path):
    folder = _tiny_beir(tmp_path / "mine")
    data = load_data(str(folder), n_docs=0, n_queries=2, seed=0, cache=tmp_path / "cache")
    assert (
        data.name == "mine" and data.docs.ids == ["d0", "d1"] and data.queries.ids == ["q0", "q1"]
    )
    assert data.docs_path == tmp_path / "cache" / "mine-splade-tiny-docs.parquet"
    # Documents as title + " " + text (BEIR's rule), encoded by splade-tiny.
    expected = load(str(SPLADE_TINY)).encode_documents(["Slabs heat conduction"], ["d0"])
    assert np.array_equal(data.docs.row(0)[0], expected.row(0)[0])
    assert np.allclose(data.docs.row(0)[1], expected.row(0)[1], atol=1e-5)


def test_the_harness_names_the_data_it_cannot_find(tmp_path):
    with pytest.raises(InputError, match="--data 'nowhere'"):
        load_data("nowhere", n_docs=0, n_queries=2, seed=0, cache=tmp_path)
