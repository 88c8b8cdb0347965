"""`lsr index tune` (index/tuning.py): the cheapest setting that reaches a target accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from index_data import dense, random_collection
from lsr.index import BuildConfig, SeismicIndex
from lsr.index.config import SearchDefaults
from lsr.index.living import LivingIndex
from lsr.index.tuning import TunePoint, choose, frontier, split_sample, tune

from lsr.cli import cli
from lsr.errors import InputError
from lsr.vector_io import write_vectors

GRID = [(c, h, False) for c in (1, 2, 3, 4, 6, 10) for h in (0.7, 1.0)]


@pytest.fixture(scope="module")
def collections():
    docs = random_collection(1500, vocab_size=300, mean_nnz=25, seed=3)
    queries = random_collection(160, vocab_size=300, mean_nnz=10, seed=4, prefix="q")
    return docs, queries


@pytest.fixture(scope="module")
def files(tmp_path_factory, collections):
    root = tmp_path_factory.mktemp("tune")
    docs, queries = collections
    SeismicIndex.build(docs, BuildConfig(n_postings=60)).save(root / "idx")
    write_vectors(root / "queries.parquet", queries)
    return root


def _point(cut, latency, accuracy, stderr=0.0):
    return TunePoint(cut, 0.8, False, accuracy, stderr, accuracy, latency)


def test_choose_takes_the_fastest_point_that_reaches_the_target_beyond_its_error():
    points = [_point(1, 10, 0.90), _point(2, 20, 0.96, 0.02), _point(3, 30, 0.97), _point(4, 40, 1)]
    assert choose(points, 0.95).query_cut == 3
    assert choose(points, 0.999).query_cut == 4
    assert choose(points[:2], 0.95) is None


def test_frontier_keeps_only_points_no_other_beats_on_both():
    points = [_point(1, 10, 0.9), _point(2, 20, 0.85), _point(3, 30, 0.97), _point(4, 25, 0.95)]
    assert [p.query_cut for p in frontier(points)] == [1, 4, 3]


def test_split_sample_halves_a_bounded_sample_without_overlap(collections):
    _, queries = collections
    tuning, held_out = split_sample(queries, budget=101, seed=0)
    assert (len(tuning), len(held_out)) == (50, 51)
    assert not set(tuning.ids) & set(held_out.ids)
    assert set(tuning.ids) | set(held_out.ids) <= set(queries.ids)


def test_too_few_queries_is_named(collections):
    _, queries = collections
    with pytest.raises(InputError, match="budget_queries"):
        split_sample(queries, budget=12, seed=0)


def test_tuned_defaults_reach_the_target_on_held_out_queries(files, collections):
    """The stored choice, searched with no parameter given, reaches the target on the held-out
    queries against a plain numpy exact top-10 of the stored (float16) weights."""
    docs, queries = collections
    result = CliRunner().invoke(
        cli,
        ["index", "tune", str(files / "idx"), str(files / "queries.parquet"),
         "--target-accuracy", "0.95", "--budget-queries", "160", "--rounds", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "<- chosen" in result.output
    index = SeismicIndex.load(files / "idx")
    tuning = json.loads((files / "idx" / "manifest.json").read_text())["stats"]["tuning"]
    assert index.search_defaults.query_cut == tuning["choice"]["query_cut"]
    assert index.timing.measured_on == "queries"
    assert index.timing.seismic_us == tuning["choice"]["latency_us"]
    assert held_out_accuracy(index, docs, queries) >= 0.95


def held_out_accuracy(index, docs, queries) -> float:
    """accuracy@10 of ``index``'s defaults on the held-out half, against a plain numpy exact
    top-10 of the stored (float16) weights (positions are the documents' order in ``docs``)."""
    _, held_out = split_sample(queries, budget=160, seed=0)
    stored = dense(docs).astype(np.float16).astype(np.float64)
    found = index.search_batch(held_out, k=10)
    hits = []
    for i in range(len(held_out)):
        scores = stored @ dense(held_out)[i]
        truth = set(np.argsort(-scores, kind="stable")[:10].tolist())
        hits.append(len(truth & set(found.docs[i].tolist())) / 10)
    return float(np.mean(hits))


def test_a_living_index_stores_its_choice_in_a_new_commit(tmp_path, files, collections):
    """Two Seismic segments tuned as one index: the choice is the new commit's defaults, which
    every segment is then searched with, and reaches the target on held-out queries."""
    docs, queries = collections
    directory = tmp_path / "living"
    config = BuildConfig(n_postings=60)
    with LivingIndex.open(directory, docs.metadata, config, exact_max_docs=100) as index:
        index.add(docs.slice(0, 900))
        index.add(docs.slice(900, len(docs)))
        before = index.commit.generation
    result = CliRunner().invoke(
        cli,
        ["index", "tune", str(directory), str(files / "queries.parquet"),
         "--target-accuracy", "0.95", "--budget-queries", "160", "--rounds", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    chosen = int(result.output.split("chosen: query_cut ")[1].split(",")[0])
    with LivingIndex.open(directory) as index:
        assert index.commit.generation == before + 1
        assert [p.segment.seismic is not None for p in index.reader.parts] == [True, True]
        assert index.reader.search_defaults.query_cut == chosen
        assert held_out_accuracy(index, docs, queries) >= 0.95


def test_an_unreachable_target_stores_nothing(files):
    before = (files / "idx" / "manifest.json").read_text()
    result = CliRunner().invoke(
        cli,
        ["index", "tune", str(files / "idx"), str(files / "queries.parquet"),
         "--target-accuracy", "1.0", "--budget-queries", "40", "--rounds", "1", "--k", "1000"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "nothing stored" in result.output
    assert (files / "idx" / "manifest.json").read_text() == before


def test_the_frontier_is_fastest_first_and_ever_more_accurate(files, collections):
    _, queries = collections
    result = tune(SeismicIndex.load(files / "idx"), queries, 0.9, grid=GRID, rounds=1)
    latencies = [p.latency_us for p in result.frontier]
    accuracies = [p.tuning_accuracy for p in result.frontier]
    assert latencies == sorted(latencies)
    assert accuracies == sorted(accuracies)
    assert result.choice in result.frontier


def test_a_setting_in_the_global_block_order_is_tuned_and_stored_as_one(files, collections):
    """Settings of four values name the block order too; the choice keeps it as a default."""
    _, queries = collections
    grid = [(4, 0.8, False, True)]
    result = tune(SeismicIndex.load(files / "idx"), queries, 0.5, grid=grid, rounds=1)
    assert result.choice.global_order is True
    stored = result.choice.defaults(SearchDefaults())
    assert (stored.global_order, stored.first_sorted) == (True, False)
