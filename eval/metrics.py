"""Retrieval metrics through ranx, with the conventions of trec_eval and BEIR.

The numbers must equal pytrec_eval's (the C code of trec_eval) on the same run, so three of
trec_eval's conventions are made explicit here rather than left to ranx's defaults:

* **Ties.** trec_eval ranks a query's documents by score descending and breaks ties by document
  id descending (``strcmp``, byte order; ``comp_sim_docno`` in ``form_res_rels.c``). ranx sorts by
  score with an unstable sort, so :func:`trec_eval_order` re-scores every run with distinct
  rank-based scores in trec_eval's order first. All our metrics depend on the order only.
* **Which queries count.** The mean is over the queries that have judgements; a judged query
  missing from the run, or with no hits, counts as zero. (BEIR's pytrec_eval loop silently
  averages over the queries present in the run instead.)
* **Grades.** Raw integer grades, as the qrels give them (and as ir-datasets keeps them): a grade
  of 1 or more is relevant, nDCG uses the grade itself as the gain (Järvelin & Kekäläinen 2002,
  trec_eval's ``ndcg_cut``), and grades of 0 or below contribute nothing.

BEIR's ``ignore_identical_ids`` (drop a hit whose document id equals the query id) is
applied to the search results before they become a run
(:func:`eval.runs.without_identical_ids`), so that run files and metrics agree.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]

# ranx metric names; the first is the headline metric of BEIR.
METRICS: tuple[str, ...] = ("ndcg@10", "recall@100", "recall@1000", "mrr@10", "map@100")

# Column headers for reports.
METRIC_LABELS = {
    "ndcg@10": "nDCG@10",
    "recall@100": "R@100",
    "recall@1000": "R@1000",
    "mrr@10": "MRR@10",
    "map@100": "MAP@100",
}


@dataclass(frozen=True)
class Evaluation:
    """Mean of every metric, and each query's value (``per_query[metric][query_id]``)."""

    means: dict[str, float]
    per_query: dict[str, dict[str, float]]
    n_queries: int


def trec_eval_order(run: Mapping[str, Mapping[str, float]]) -> Run:
    """The run with each query's hits re-scored ``n, n-1, ..., 1`` in trec_eval's ranking order:
    score descending, then document id descending."""
    ordered: Run = {}
    for query_id, hits in run.items():
        ranking = sorted(hits.items(), key=lambda hit: (hit[1], hit[0]), reverse=True)
        ordered[query_id] = {
            doc_id: float(len(ranking) - r) for r, (doc_id, _) in enumerate(ranking)
        }
    return ordered


def evaluate(
    run: Mapping[str, Mapping[str, float]], qrels: Qrels, metrics: Sequence[str] = METRICS
) -> Evaluation:
    """Evaluate ``run`` against ``qrels`` with trec_eval's conventions (see the module docstring)."""
    import ranx

    if not qrels:
        raise ValueError("qrels are empty: nothing to evaluate against")
    ranx_run = ranx.Run(trec_eval_order(judged_queries_only(run, qrels)))
    ranx_qrels = ranx.Qrels({q: dict(d) for q, d in qrels.items()})
    with warnings.catch_warnings():
        # ranx hashes ids to uint64 and casts them; equal ids stay equal, which is all it needs.
        warnings.simplefilter("ignore")
        ranx.evaluate(ranx_qrels, ranx_run, list(metrics), make_comparable=True)
    per_query = {m: {q: float(v) for q, v in ranx_run.scores[m].items()} for m in metrics}
    means = {m: sum(v.values()) / len(v) for m, v in per_query.items()}
    return Evaluation(means, per_query, len(qrels))


def judged_queries_only(run: Mapping[str, Mapping[str, float]], qrels: Qrels) -> Run:
    """The run restricted to judged queries, each present (empty when the run lacks it)."""
    return {q: dict(run.get(q, {})) for q in qrels}
