"""The regularization sweep's own arithmetic and choices: the query-document FLOPS, the dev-only
choice of a family's lambda, the split that holds the dev queries out of training, the rows
(the measurement itself is reports/train-sweep.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, requires_shared

from benchmarks.train_sweep import (
    MODEL,
    RECIPE,
    choose,
    dev_query_ids,
    pair_flops,
    run_config,
    runs,
    same_config,
    stored_result,
    write_reports,
    write_split,
)
from lsr.train.config import TrainConfig
from lsr.train.data.pairs import load_pairs
from lsr.vectors import SparseCollection, VectorMetadata

PROVENANCE = {
    "command": "python -m benchmarks.train_sweep",
    "date": "2026-12-01T00:00:00+00:00",
    "commit": "abc",
    "dirty": False,
    "changed": [],
    "platform": "Linux",
    "cpu": {
        "model_name": "cpu",
        "family": "1",
        "model": "2",
        "stepping": "3",
        "logical_cpus": 2,
        "flags": [],
        "caches": {},
    },
}


def collection(rows: list[dict[int, float]]) -> SparseCollection:
    return SparseCollection.from_rows(
        [f"x{i}" for i in range(len(rows))],
        [(list(r), list(r.values())) for r in rows],
        VectorMetadata(vocab_size=4),
    )


def test_pair_flops_is_the_mean_count_of_shared_terms_by_hand():
    queries = collection([{0: 1.0, 1: 1.0}, {1: 2.0}])
    documents = collection([{0: 0.5, 1: 0.5, 2: 0.5}, {1: 1.0}, {3: 1.0}])
    # pairs (q, d) sharing terms: q0-d0 2, q0-d1 1, q1-d0 1, q1-d1 1, others 0: 5 / 6
    brute = np.mean([[2, 1, 0], [1, 1, 0]])
    assert pair_flops(queries, documents) == pytest.approx(brute) == pytest.approx(5 / 6)


def row(name, family, dev, flops):
    return {"name": name, "family": family, "dev_ndcg@10": dev, "flops": flops}


def test_choice_is_the_lowest_flops_run_within_the_margin_on_dev():
    reference = row("siamese", "siamese", 0.70, 10.0)
    rows = [
        row("a", "F", 0.69, 3.0),
        row("b", "F", 0.685, 1.0),
        row("c", "F", 0.60, 0.5),
        {**row("d", "F", 0.0, 0.1), "collapsed": "empty"},
    ]
    assert choose(rows, "F", reference)["name"] == "b"


def test_choice_falls_back_to_the_best_dev_run():
    reference = row("siamese", "siamese", 0.90, 10.0)
    rows = [row("a", "F", 0.69, 3.0), row("b", "F", 0.60, 1.0)]
    assert choose(rows, "F", reference)["name"] == "a"
    assert choose([{**rows[0], "collapsed": "x"}], "F", reference) is None


def test_rows_are_the_reference_three_families_of_three_lambdas_and_the_l0_activation():
    families = [r.family for r in runs()[:-1]]
    assert families[0] == "siamese"
    assert runs()[-1].keys["activation"] == "l0"
    assert {f: families.count(f) for f in families[1:]} == dict.fromkeys(set(families[1:]), 3)
    assert len(set(families[1:])) == 3
    assert all(r.keys.get("query_encoder") == "idf" for r in runs()[1:])


@requires_shared
def test_the_split_leaves_the_dev_queries_out_of_training(tmp_path):
    dev = dev_query_ids(str(SHARED_DATA))
    assert len(dev) == 200
    split = write_split(tmp_path / "split", str(SHARED_DATA), dev)
    trained = {e.query for e in load_pairs(str(split))}
    everything = {e.query for e in load_pairs("scifact", str(SHARED_DATA))}
    assert trained < everything
    held = everything - trained
    assert 150 <= len(held) <= 200  # a query text may repeat under two ids


def measured(run, dev: float, test: float, flops: float) -> dict:
    config = TrainConfig(model=MODEL, dataset="split", **{**RECIPE, **run.keys}).to_dict()
    return {
        "name": run.name,
        "family": run.family,
        "config": config,
        "dev_ndcg@10": dev,
        "test_ndcg@10": test,
        "doc_nnz": 200.0,
        "doc_flops": 20.0 * flops,
        "flops": flops,
        "query_nnz": 12.0,
    }


def test_the_report_renders_a_partial_sweep_with_a_collapse(tmp_path):
    siamese, chosen, collapsed = runs()[0], runs()[1], runs()[2]
    rows = [
        measured(siamese, 0.70, 0.66, 30.0),
        measured(chosen, 0.69, 0.65, 5.0),
        {
            "name": collapsed.name,
            "family": collapsed.family,
            "config": measured(collapsed, 0, 0, 1)["config"],
            "collapsed": "documents empty",
        },
    ]
    args = argparse.Namespace(out=tmp_path / "sweep", steps=60)
    results = {run.name: None for run in runs()} | {row["name"]: row for row in rows}
    write_reports({**PROVENANCE}, runs(), results, args, 60.0)
    text = (tmp_path / "sweep.md").read_text()
    assert f"| {chosen.family} | {chosen.name} | +0.010 | 0.17 |" in text
    assert "collapsed: documents empty" in text
    assert "Not run (time): " in text and runs()[3].name in text
    assert (tmp_path / "sweep.png").stat().st_size > 0
    assert json.loads((tmp_path / "sweep.json").read_text())["rows"] == rows


def test_a_stored_run_survives_a_configuration_key_added_at_its_default():
    keys = TrainConfig(model=MODEL, dataset="split").to_dict()
    stored = {k: v for k, v in keys.items() if k != "seed"}
    assert same_config(stored, keys)  # seed at its default: the stored run is this run
    assert not same_config(stored, {**keys, "seed": 1})
    assert not same_config({**stored, "lr": 1.0}, keys)


def test_a_stored_result_is_read_back_only_for_its_own_configuration(tmp_path):
    args = argparse.Namespace(work=tmp_path, steps=60)
    siamese, other = runs()[0], runs()[1]
    row = measured(siamese, 0.7, 0.66, 30.0)
    row["config"] = run_config(siamese, Path("split"), args).to_dict()
    del row["config"]["output_dir"]
    (tmp_path / siamese.name).mkdir()
    (tmp_path / siamese.name / "result.json").write_text(json.dumps(row))
    assert stored_result(siamese, Path("split"), args) == row
    assert stored_result(other, Path("split"), args) is None
    assert stored_result(siamese, Path("split"), argparse.Namespace(work=tmp_path, steps=9)) is None
