"""`lsr index build | search | info` on a small real vector file."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from index_data import random_collection
from lsr.index import SeismicIndex
from lsr.index.config import COMPACT, COMPACT_SEARCH, SearchDefaults

from lsr.cli import cli
from lsr.vector_io import read_vectors, write_vectors


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_vectors(root / "docs.parquet", random_collection(200, seed=41))
    write_vectors(root / "queries.parquet", random_collection(5, seed=42, prefix="q"))
    return root


@pytest.fixture(scope="module")
def built(files):
    result = CliRunner().invoke(
        cli,
        ["index", "build", str(files / "docs.parquet"), str(files / "idx"), "--n-postings", "50"],
    )
    assert result.exit_code == 0, result.output
    return result


def test_build_reports_size_and_time(built, files):
    assert "x the forward index" in built.output
    assert SeismicIndex.load(files / "idx").config.n_postings == 50


@pytest.mark.parametrize(
    "extra", [[], ["--engine", "exact"], ["--first-sorted", "--query-cut", "3"]]
)
def test_search_writes_a_trec_run(built, files, extra):
    out = files / "run.trec"
    args = ["index", "search", str(files / "idx"), str(files / "queries.parquet"), "--k", "3"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in out.read_text().splitlines()]
    assert {line[0] for line in lines} <= {f"q{i}" for i in range(5)}
    assert all(len(line) == 6 and line[1] == "Q0" and 1 <= int(line[3]) <= 3 for line in lines)


def test_info_prints_json(built, files):
    result = CliRunner().invoke(cli, ["index", "info", str(files / "idx"), "--json", "--verify"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["documents"] == 200
    assert summary["config"]["n_postings"] == 50
    assert summary["forward_layout"] == "side_by_side"


def test_bad_parameter_is_named(files):
    args = ["index", "build", str(files / "docs.parquet"), str(files / "bad"), "--doc-cut", "0"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert "doc_cut" in str(result.exception)


def test_compact_preset_fills_only_what_is_not_given(files):
    docs, out = str(files / "docs.parquet"), files / "compact"
    args = ["index", "build", docs, str(out), "--compact", "--summary-energy", "0.3"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    config = SeismicIndex.load(out).config
    assert config.centroid_fraction == COMPACT["centroid_fraction"]
    assert config.summary_energy == 0.3


def test_compact_index_stores_its_heap_factor_and_search_uses_it(files):
    docs, out = str(files / "docs.parquet"), files / "compact-defaults"
    result = CliRunner().invoke(cli, ["index", "build", docs, str(out), "--compact"])
    assert result.exit_code == 0, result.output
    loaded = SeismicIndex.load(out)
    assert loaded.search_defaults == SearchDefaults(**COMPACT_SEARCH, engine="auto")
    run = files / "compact.trec"
    args = ["index", "search", str(out), str(files / "queries.parquet"), "--out", str(run)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    expected = loaded.search_batch(read_vectors(files / "queries.parquet"), k=10)
    assert [line.split()[2] for line in run.read_text().splitlines()] == [
        doc_id for q in range(len(expected.query_ids)) for doc_id, _ in expected.hits(q)
    ]


def test_info_shows_the_search_defaults(built, files):
    result = CliRunner().invoke(cli, ["index", "info", str(files / "idx"), "--json"])
    stored = json.loads(result.output)["search_defaults"]
    assert stored == SearchDefaults(engine="auto").to_json()


def test_n_knn_on_an_index_without_a_graph_is_named(built, files):
    args = ["index", "search", str(files / "idx"), str(files / "queries.parquet")]
    result = CliRunner().invoke(cli, [*args, "--n-knn", "3", "--out", str(files / "knn.trec")])
    assert result.exit_code != 0
    assert "n_knn=3: this index has no kNN graph" in str(result.exception)
