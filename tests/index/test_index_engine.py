"""Engine choice (index/engine.py): exact search where the build timed it faster."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from index_data import random_collection
from lsr.index import BuildConfig, ExactIndex, SeismicIndex
from lsr.index.config import SearchDefaults, SearchParams
from lsr.index.engine import EngineTiming, _rows, measure, resolve

from lsr.cli import cli
from lsr.errors import InputError
from lsr.vector_io import write_vectors

EXACT_FASTER = EngineTiming(seismic_us=100.0, exact_us=10.0, n_queries=4, measured_on="documents")
SEISMIC_FASTER = EngineTiming(seismic_us=10.0, exact_us=100.0, n_queries=4, measured_on="queries")


@pytest.fixture(scope="module")
def docs():
    return random_collection(400, seed=51)


@pytest.fixture(scope="module")
def queries():
    return random_collection(12, mean_nnz=6, seed=52, prefix="q")


@pytest.fixture(scope="module")
def index(docs):
    return SeismicIndex.build(docs, BuildConfig(n_postings=30), search_defaults=SearchDefaults())


@pytest.mark.parametrize(
    ("engine", "timing", "expected"),
    [
        ("auto", EXACT_FASTER, "exact"),
        ("auto", SEISMIC_FASTER, "seismic"),
        ("auto", None, "seismic"),
        ("seismic", EXACT_FASTER, "seismic"),
        ("exact", SEISMIC_FASTER, "exact"),
    ],
)
def test_resolve_takes_the_asked_engine_or_the_faster_one(engine, timing, expected):
    assert resolve(SearchParams(engine=engine), timing) == expected


def test_unknown_engine_is_named():
    with pytest.raises(InputError, match="engine must be one of auto, seismic, exact"):
        SearchDefaults(engine="fast")


def test_the_build_times_both_engines_and_keeps_it_through_save(index, tmp_path):
    timing = index.stats["engines"]
    assert timing["measured_on"] == "documents"
    assert timing["seismic_us"] > 0 and timing["exact_us"] > 0
    assert timing["faster"] in ("seismic", "exact")
    index.save(tmp_path / "idx")
    assert SeismicIndex.load(tmp_path / "idx").timing == index.timing


def test_an_index_without_timing_searches_with_seismic(docs, tmp_path):
    built = SeismicIndex.build(docs, BuildConfig(n_postings=30))
    built.stats.pop("engines")
    built.save(tmp_path / "old")
    loaded = SeismicIndex.load(tmp_path / "old")
    assert loaded.timing is None
    assert loaded.engine_for("auto") == "seismic"


def test_rows_are_the_stored_documents(index, docs):
    positions = np.array([0, 7, 399])
    rows = _rows(index, positions)
    stored = index.forward.to_collection(list(docs.ids), docs.metadata)
    for i, p in enumerate(positions.tolist()):
        np.testing.assert_array_equal(rows.row(i)[0], stored.row(p)[0])
        np.testing.assert_array_equal(rows.row(i)[1], stored.row(p)[1])


def test_exact_time_of_a_sample_is_scaled_to_the_collection(index):
    timing = measure(index, SearchParams(), n_queries=8, max_exact_docs=100, rounds=1)
    assert timing.n_queries == 8 and timing.exact_us > 0


@pytest.fixture
def exact_faster(index):
    """The index told that exact search is faster on it (timings are the machine's to decide;
    the dispatch is what is tested here)."""
    before = index.timing
    index.timing = EXACT_FASTER
    yield index
    index.timing = before


def test_auto_answers_with_exact_search_where_it_is_faster(exact_faster, docs, queries):
    found = exact_faster.search_batch(queries, k=10, engine="auto")
    truth = ExactIndex(exact_faster.forward.to_collection(list(docs.ids), docs.metadata))
    expected = truth.search_batch(queries, k=10)
    np.testing.assert_array_equal(found.docs, expected.docs)
    np.testing.assert_array_equal(found.scores, expected.scores)
    assert found.scored is None
    ids, scores = exact_faster.search(*queries.row(0), k=10, engine="auto")
    assert ids == [docs.ids[d] for d in expected.docs[0] if d >= 0]
    np.testing.assert_array_equal(scores, expected.scores[0][: len(ids)])


def test_seismic_is_used_when_asked_or_when_excluding(exact_faster, queries):
    assert exact_faster.search_batch(queries, k=10, engine="seismic").scored is not None
    nothing = np.zeros_like(exact_faster._nothing_excluded)
    excluded = exact_faster.search_batch(queries, k=10, engine="auto", exclude=nothing)
    assert excluded.scored is not None
    with pytest.raises(InputError, match="engine 'exact' cannot exclude"):
        exact_faster.search_batch(queries, k=10, engine="exact", exclude=nothing)


def test_cli_build_stores_auto_and_reports_the_timing(docs, queries, tmp_path):
    write_vectors(tmp_path / "docs.parquet", docs)
    write_vectors(tmp_path / "queries.parquet", queries)
    runner = CliRunner()
    built = runner.invoke(
        cli, ["index", "build", str(tmp_path / "docs.parquet"), str(tmp_path / "idx")]
    )
    assert built.exit_code == 0, built.output
    assert "engine timing (32 documents as queries, one thread)" in built.output
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["search_defaults"]["engine"] == "auto"
    info = runner.invoke(cli, ["index", "info", str(tmp_path / "idx")])
    assert "engine timing" in info.output
    run = tmp_path / "run.trec"
    searched = runner.invoke(
        cli,
        ["index", "search", str(tmp_path / "idx"), str(tmp_path / "queries.parquet"),
         "--engine", "exact", "--out", str(run)],
    )  # fmt: skip
    assert searched.exit_code == 0, searched.output
    assert run.read_text().split("\n")[0].endswith(" exact")


@pytest.mark.parametrize("entry", [None, {}, {"seismic_us": "x"}, [1, 2], "fast"])
def test_a_missing_or_damaged_timing_counts_as_none(entry):
    assert EngineTiming.from_stats({"engines": entry}) is None
