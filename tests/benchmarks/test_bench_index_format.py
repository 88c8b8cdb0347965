"""benchmarks/index_format.py: the twin differs from its source in the forward index's layout
alone, and a probe opens and searches the index it is given."""

from __future__ import annotations

import numpy as np
from lsr.index import BuildConfig, SeismicIndex
from lsr.index.persist import load_arrays

from benchmarks import index_format
from benchmarks.synthetic import generate
from lsr.vector_io import write_vectors


def test_the_twin_lays_the_two_arrays_side_by_side_and_keeps_every_other_array(tmp_path):
    docs, queries = generate(300, 3)
    index = SeismicIndex.build(docs, BuildConfig(n_postings=30))
    index.save(tmp_path / "built")
    index.forward = index.forward.to_two_arrays()  # read as a format 3 index is
    index.save(tmp_path / "two")
    index_format.twin(tmp_path / "two", tmp_path / "twin")
    built, twin = (load_arrays(tmp_path / name)[1] for name in ("built", "twin"))
    assert "forward.rows" in twin and "forward.terms" not in twin
    assert built.keys() == twin.keys()
    for name, array in built.items():
        np.testing.assert_array_equal(twin[name], array)
    write_vectors(tmp_path / "q.parquet", queries)
    found = index_format.probe(str(tmp_path / "twin"), str(tmp_path / "q.parquet"), "2", "5", "0.9")
    assert found["layout"] == "side_by_side" and found["memory_kib"]["rss"] > 0
    assert found["load_ms"] > 0 and found["first_query_ms"] > 0 and found["faults_per_query"] >= 0
