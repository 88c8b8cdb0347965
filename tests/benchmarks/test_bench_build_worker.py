"""Builds in a subprocess report time, peak memory and the saved index's size."""

from __future__ import annotations

import pytest

from benchmarks.build_worker import path_bytes, run_build
from benchmarks.synthetic import SyntheticConfig, generate
from lsr.vector_io import write_vectors

PARAMS = {"n_postings": 50, "centroid_fraction": 0.1}


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    docs, _ = generate(300, 1, SyntheticConfig(vocab_size=800, n_topics=3))
    path = tmp_path_factory.mktemp("vectors") / "docs.parquet"
    write_vectors(path, docs)
    return path


@pytest.mark.parametrize("kind", ["peer", "ours"])
def test_build_reports_its_measurements(kind, vectors, tmp_path):
    result = run_build(kind, vectors, PARAMS, tmp_path / kind)
    assert result["build_s"] > 0
    assert result["peak_rss_bytes"] >= result["input_rss_bytes"] > 0
    assert result["index_bytes"] == path_bytes(tmp_path / result["path"]) > 0


def test_peer_build_reports_its_own_layout(vectors, tmp_path):
    result = run_build("peer", vectors, PARAMS, tmp_path / "peer")
    assert result["space"]["total"] >= result["space"]["summaries"] > 0


def test_failed_build_names_the_system(vectors, tmp_path):
    with pytest.raises(RuntimeError, match="ours build failed"):
        run_build("ours", vectors, {"n_postings": -1}, tmp_path / "bad")
