"""eval/metrics.py: hand-computed values, trec_eval's tie order, and agreement with pytrec_eval."""

from __future__ import annotations

import math
import random

import pytest
import pytrec_eval
from conftest import SHARED_DATA, requires_shared
from lsr.eval.metrics import METRICS, evaluate, trec_eval_order

from lsr.datasets import load_dataset

# ranx name -> pytrec_eval measure; MRR@10 is trec_eval's recip_rank over the top 10 only.
PYTREC_MEASURES = {
    "ndcg@10": "ndcg_cut_10",
    "recall@100": "recall_100",
    "recall@1000": "recall_1000",
    "map@100": "map_cut_100",
}


def test_ties_are_broken_by_document_id_descending():
    run = {"q": {"a": 1.0, "c": 1.0, "b": 2.0, "d": 1.0}}
    ordered = trec_eval_order(run)["q"]
    assert sorted(ordered, key=ordered.get, reverse=True) == ["b", "d", "c", "a"]


def test_reciprocal_rank_follows_the_tie_order():
    # All four tie: trec_eval ranks d, c, b, a, so the first relevant (c) is at rank 2.
    run = {"q": {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}}
    result = evaluate(run, {"q": {"a": 1, "c": 1}}, ["mrr@10"])
    assert result.means["mrr@10"] == 0.5


def test_graded_ndcg_uses_raw_grades_as_gains():
    run = {"q": {"b": 3.0, "a": 2.0, "c": 1.0}}
    qrels = {"q": {"a": 2, "b": -1, "c": 1}}
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert evaluate(run, qrels, ["ndcg@10"]).means["ndcg@10"] == pytest.approx(dcg / ideal)


def test_judged_query_without_results_counts_as_zero():
    run = {"q1": {"a": 1.0}, "q2": {}, "unjudged": {"a": 1.0}}
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 1}}
    result = evaluate(run, qrels, ["recall@100"])
    assert result.per_query["recall@100"] == {"q1": 1.0, "q2": 0.0, "q3": 0.0}
    assert result.means["recall@100"] == pytest.approx(1 / 3)
    assert result.n_queries == 3


def test_map_divides_by_every_relevant_document():
    # Relevant at ranks 1 and 3, a third relevant never retrieved: (1/1 + 2/3) / 3.
    run = {"q": {"a": 3.0, "x": 2.0, "b": 1.0}}
    result = evaluate(run, {"q": {"a": 1, "b": 1, "c": 1}}, ["map@100"])
    assert result.means["map@100"] == pytest.approx((1 + 2 / 3) / 3)


def _tied_run(qrels, doc_ids, seed=0):
    """A run over real qrels with many ties: scores rounded to one decimal, relevant documents
    mixed among random ones, one judged query left out."""
    rng = random.Random(seed)
    run = {}
    for i, (query_id, judged) in enumerate(sorted(qrels.items())):
        if i == 0:
            continue
        candidates = set(rng.sample(doc_ids, 150)) | set(judged)
        run[query_id] = {d: round(rng.random(), 1) for d in candidates}
    return run


@requires_shared
def test_metrics_equal_pytrec_eval_on_real_qrels_with_ties():
    dataset = load_dataset(SHARED_DATA / "scifact")
    qrels = dataset.qrels("test")
    doc_ids = [doc.id for doc in dataset.docs()]
    run = _tied_run(qrels, doc_ids)
    ours = evaluate(run, qrels, METRICS)

    measures = {"ndcg_cut.10", "recall.100", "recall.1000", "map_cut.100"}
    theirs = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    top10 = {}
    for query_id, hits in trec_eval_order(run).items():
        top10[query_id] = {d: s for d, s in hits.items() if s > len(hits) - 10}
    theirs_rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)

    # pytrec_eval skips the query without hits; we count it as zero, so compare query by query.
    for metric, measure in PYTREC_MEASURES.items():
        for query_id, values in theirs.items():
            assert ours.per_query[metric][query_id] == pytest.approx(values[measure], abs=1e-12)
    for query_id, values in theirs_rr.items():
        assert ours.per_query["mrr@10"][query_id] == pytest.approx(values["recip_rank"], abs=1e-12)
    empty = min(qrels)
    assert empty not in theirs
    assert all(ours.per_query[m][empty] == 0.0 for m in METRICS)
