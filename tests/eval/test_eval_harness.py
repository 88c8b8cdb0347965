"""eval/harness.py end to end on real collections: BM25 on SciFact against Pyserini's figure and
pytrec_eval, caching, and splade-tiny with the Seismic index on a small real slice."""

from __future__ import annotations

import pytest
import pytrec_eval
from conftest import SHARED_DATA, SPLADE_TINY, requires_shared
from eval_data import write_slice
from lsr.eval.harness import EvalOptions, evaluate_model, prepare, run_evaluation
from lsr.eval.metrics import trec_eval_order
from lsr.eval.runs import read_trec_run

from lsr.datasets import load_dataset

pytestmark = requires_shared

# Pyserini's BM25 flat index on BEIR SciFact (k1 0.9, b 0.4): nDCG@10 0.679.
PYSERINI_BM25_SCIFACT = 0.679


@pytest.fixture(scope="module")
def bm25_scifact(tmp_path_factory):
    root = tmp_path_factory.mktemp("bm25")
    options = EvalOptions(cache_dir=root / "cache", out_dir=root / "out", progress=False)
    return evaluate_model("bm25", str(SHARED_DATA / "scifact"), options)


@pytest.fixture(scope="module")
def scifact_slice(tmp_path_factory):
    return write_slice(tmp_path_factory.mktemp("data") / "scifact-slice")


def test_bm25_on_scifact_is_within_pyserini_tolerance(bm25_scifact):
    assert bm25_scifact.metrics["ndcg@10"] == pytest.approx(PYSERINI_BM25_SCIFACT, abs=0.015)
    assert bm25_scifact.n_queries == 300


def test_bm25_run_file_gives_pytrec_eval_numbers(bm25_scifact):
    qrels = load_dataset(SHARED_DATA / "scifact").qrels("test")
    run = read_trec_run(bm25_scifact.run_file)
    assert set(run) == set(qrels)  # every judged query has hits, so pytrec_eval averages alike
    measures = {"ndcg_cut.10", "recall.100", "recall.1000", "map_cut.100"}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    for metric, measure in [("ndcg@10", "ndcg_cut_10"), ("recall@100", "recall_100"),
                            ("recall@1000", "recall_1000"), ("map@100", "map_cut_100")]:  # fmt: skip
        expected = sum(v[measure] for v in per_query.values()) / len(per_query)
        assert bm25_scifact.metrics[metric] == pytest.approx(expected, abs=1e-12)
    top10 = {
        q: {d: s for d, s in h.items() if s > len(h) - 10} for q, h in trec_eval_order(run).items()
    }
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    expected = sum(v["recip_rank"] for v in rr.values()) / len(rr)
    assert bm25_scifact.metrics["mrr@10"] == pytest.approx(expected, abs=1e-12)


def test_second_preparation_reuses_the_encoded_corpus(scifact_slice, tmp_path):
    options = EvalOptions(cache_dir=tmp_path, progress=False)
    prepare("bm25", str(scifact_slice), options)
    (vectors,) = tmp_path.rglob("docs.parquet")
    written = vectors.stat().st_mtime_ns
    prepare("bm25", str(scifact_slice), options)
    assert vectors.stat().st_mtime_ns == written


def test_splade_tiny_with_seismic_reports_accuracy_against_exact(scifact_slice, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    options = EvalOptions(
        index="seismic", cache_dir=cache, out_dir=out, latency_queries=3, progress=False
    )
    prepared = prepare(str(SPLADE_TINY), str(scifact_slice), options)
    seismic = run_evaluation(prepared, options)
    exact = run_evaluation(prepared, EvalOptions(cache_dir=cache, progress=False))
    assert 0.0 <= seismic.accuracy_at_10 <= 1.0
    assert exact.accuracy_at_10 is None
    assert seismic.metrics["ndcg@10"] == pytest.approx(exact.metrics["ndcg@10"], abs=0.05)
    assert seismic.search_latency.n == 20
    assert seismic.encode_latency.n == 3
    assert seismic.index_dir is not None
    # The parameters recorded are those searched with: the index's stored defaults.
    assert seismic.params == prepared.approximate.search_defaults.to_json()


def test_identical_ids_follow_the_dataset_unless_overridden(scifact_slice, tmp_path):
    vaswani = write_slice(tmp_path / "data" / "vaswani", name="vaswani", n_queries=5)
    options = EvalOptions(cache_dir=tmp_path / "cache", progress=False)
    assert prepare("bm25", str(scifact_slice), options).ignore_identical_ids
    assert not prepare("bm25", str(vaswani), options).ignore_identical_ids
    keep = EvalOptions(cache_dir=tmp_path / "cache", ignore_identical_ids=False, progress=False)
    assert not prepare("bm25", str(scifact_slice), keep).ignore_identical_ids
