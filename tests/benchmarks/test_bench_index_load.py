"""benchmarks/index_load.py: the scaled arrays are a sound index of the size asked for."""

from __future__ import annotations

import pytest
from lsr.index import BuildConfig, SeismicIndex

from benchmarks import index_load
from benchmarks.synthetic import generate


@pytest.fixture(scope="module")
def index() -> SeismicIndex:
    docs, _ = generate(200, 1)
    return SeismicIndex.build(docs, BuildConfig(n_postings=30))


def test_scaled_arrays_pass_the_checks_at_the_asked_size(index):
    big, id_bytes, id_offsets = index_load.scaled(index, 1000)
    sizes = index_load.sizes(big)
    assert sizes["documents"] == 1000
    assert sizes["nnz"] == int(index.forward.nnz * 5)
    index_load.check_call(big, id_bytes, id_offsets)()  # raises if unsound


def test_report_names_the_index_and_both_rows(index):
    record = {
        "command": "python -m benchmarks.index_load", "commit": "abc", "dirty": False,
        "changed": [], "date": "today", "platform": "linux",
        "cpu": {"model_name": "cpu", "family": 1, "model": 2, "stepping": 3,
                "logical_cpus": 2, "flags": [], "caches": {}},
        "index": {"documents": 200, "config": {"n_postings": 30}},
    }  # fmt: skip
    rows = [
        ("saved", index_load.sizes(index), 0.05, 0.01),
        ("scaled", index_load.sizes(index), None, 0.02),
    ]
    text = index_load.markdown(record, rows)
    assert "Index: 200 documents, built with n_postings 30." in text
    assert "| saved | 200 |" in text and "| 50.0 | 10.0 |" in text and "|  | 20.0 |" in text
