"""benchmarks/index_format.py: the twin holds its source's arrays, the forward index side by side,
and a probe opens and searches the index it is given (a format 3 source: test_index_format3)."""

from __future__ import annotations

import numpy as np
from lsr.index import BuildConfig, SeismicIndex
from lsr.index.persist import load_arrays

from benchmarks import index_format
from benchmarks.synthetic import generate
from lsr.vector_io import write_vectors


def test_the_twin_holds_every_array_of_its_source_with_the_rows_side_by_side(tmp_path):
    docs, queries = generate(300, 3)
    index = SeismicIndex.build(docs, BuildConfig(n_postings=30))
    index.save(tmp_path / "built")
    index_format.twin(tmp_path / "built", tmp_path / "twin")  # format 3: test_index_format3.py
    built, twin = (load_arrays(tmp_path / name)[1] for name in ("built", "twin"))
    assert "forward.rows" in twin and "forward.terms" not in twin
    assert built.keys() == twin.keys()
    for name, array in built.items():
        np.testing.assert_array_equal(twin[name], array)
    write_vectors(tmp_path / "q.parquet", queries)
    found = index_format.probe(str(tmp_path / "twin"), str(tmp_path / "q.parquet"), "2", "5", "0.9")
    assert found["layout"] == "side_by_side" and found["memory_kib"]["rss"] > 0
    assert found["load_ms"] > 0 and found["first_query_ms"] > 0 and found["faults_per_query"] >= 0
