"""The teacher ensemble's own nDCG@10 on SciFact: the ceiling a distilled student can reach.

Each query's candidates are the union of BM25's and splade-tiny's exact top ``--depth``, found
through ``lsr eval``'s cached corpus vectors. Every teacher scores every candidate: BM25 and
splade-tiny by their exact inner products (the full-depth exact search, which is what
:class:`~lsr.train.data.teachers.SparseTeacher` computes), all-MiniLM-L6-v2 through
:class:`~lsr.train.data.teachers.DenseTeacher`; the ensemble of :mod:`lsr.train.data.ensemble`
reranks them. Its weights are chosen on ``--held-out`` queries drawn (seeded) from SciFact
*train*; the ensemble and each teacher alone are then reported on the test split, which plays no
part in any choice.

    python -m benchmarks.teacher_ensemble --out reports/train-ensemble
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from lsr.eval.harness import EvalOptions, Prepared, prepare

from benchmarks.provenance import (
    ALLOW_DIRTY_HELP,
    command_line,
    markdown,
    record,
    run_main,
    save_report,
)
from lsr.train.data.ensemble import choose_weights, combine, ndcg_at_10
from lsr.train.data.teachers import DenseTeacher

SPARSE = {"bm25": "bm25", "splade-tiny": "../shared/models/splade-tiny"}
DENSE = "../shared/models/all-MiniLM-L6-v2"


def held_out(query_ids: list[str], n: int, seed: int) -> list[str]:
    """``n`` query ids drawn without replacement (seeded), in id order."""
    chosen = np.random.default_rng(seed).permutation(sorted(query_ids))[:n]
    return sorted(chosen.tolist())


def all_scores(prepared: Prepared, query_ids: list[str]) -> dict[str, dict[int, float]]:
    """Every non-zero inner product of each query, by corpus position (full-depth exact search),
    without a query's own id where BEIR's identical-id rule applies."""
    n_docs = len(prepared.exact)
    results = prepared.exact.search_batch(prepared.queries, k=n_docs)
    rows = {q: i for i, q in enumerate(results.query_ids)}
    scores = {}
    for q in query_ids:
        docs, values = results.docs[rows[q]], results.scores[rows[q]]
        keep = docs >= 0
        if prepared.ignore_identical_ids:
            keep &= np.array([prepared.exact.doc_ids[d] != q if d >= 0 else False for d in docs])
        scores[q] = dict(zip(docs[keep].tolist(), values[keep].tolist()))
    return scores


def top(scores: dict[int, float], depth: int) -> list[int]:
    return sorted(scores, key=lambda d: (-scores[d], d))[:depth]


def split_scores(split: str, query_ids, depth: int, dense: DenseTeacher, options):
    """Candidates of each query and every teacher's scores of them."""
    sparse = {}
    for name, model in SPARSE.items():
        prepared = prepare(model, f"scifact/{split}", options)
        sparse[name] = all_scores(prepared, query_ids)
    doc_ids = prepared.exact.doc_ids
    queries = prepared.dataset.queries(split)
    texts = {doc.id: doc.full_text for doc in prepared.dataset.docs()}
    pools = [
        sorted(set().union(*(top(sparse[name][q], depth) for name in SPARSE))) for q in query_ids
    ]
    per_teacher = [
        [np.array([sparse[name][q].get(d, 0.0) for d in pool]) for q, pool in zip(query_ids, pools)]
        for name in SPARSE
    ]
    pool_ids = [[doc_ids[d] for d in pool] for pool in pools]
    started = time.time()
    per_teacher.append(
        dense.score([queries[q] for q in query_ids], [[texts[d] for d in ids] for ids in pool_ids])
    )
    print(f"{split}: dense teacher scored in {time.time() - started:.0f} s", file=sys.stderr)
    return per_teacher, pool_ids, prepared.qrels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=100, help="candidates from each first stage")
    parser.add_argument("--held-out", type=int, default=200, help="train queries for the weights")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held-out draw")
    parser.add_argument("--step", type=float, default=0.1, help="step of the weight grid")
    parser.add_argument("--out", type=Path, default=Path("reports/train-ensemble"))
    parser.add_argument("--allow-dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = parser.parse_args()
    provenance = record(command_line("benchmarks.teacher_ensemble"), args.allow_dirty)
    started = time.time()
    options = EvalOptions(index="exact", latency_queries=0, progress=True)
    dense = DenseTeacher.load(DENSE)
    names = [*SPARSE, Path(DENSE).name]
    train = prepare("bm25", "scifact/train", options)
    held = held_out(list(train.qrels), args.held_out, args.seed)
    train_scores, train_ids, train_qrels = split_scores("train", held, args.depth, dense, options)
    weights, held_ndcg = choose_weights(train_scores, held, train_ids, train_qrels, args.step)
    test = prepare("bm25", "scifact/test", options)
    test_queries = sorted(test.qrels)
    test_scores, test_ids, test_qrels = split_scores(
        "test", test_queries, args.depth, dense, options
    )
    rows = []
    for k, name in enumerate(names):
        alone = [1.0 if j == k else 0.0 for j in range(len(names))]
        rows.append(
            {
                "ranker": f"{name} alone (reranking the candidates)",
                "weights": alone,
                "held_out": ndcg_at_10(held, train_ids, train_scores[k], train_qrels),
                "test": ndcg_at_10(test_queries, test_ids, test_scores[k], test_qrels),
            }
        )
    for label, chosen in (("uniform", [1.0] * len(names)), ("chosen on held-out train", weights)):
        rows.append(
            {
                "ranker": f"ensemble, {label} weights",
                "weights": list(chosen),
                "held_out": ndcg_at_10(held, train_ids, combine(train_scores, chosen), train_qrels),
                "test": ndcg_at_10(
                    test_queries, test_ids, combine(test_scores, chosen), test_qrels
                ),
            }
        )
    result = {
        "provenance": provenance,
        "teachers": names,
        "depth": args.depth,
        "held_out_queries": len(held),
        "seed": args.seed,
        "weights": list(weights),
        "held_out_ndcg@10": held_ndcg,
        "mean_candidates_test": float(np.mean([len(ids) for ids in test_ids])),
        "rows": rows,
        "seconds": time.time() - started,
    }
    print(save_report(args.out, result, render(result)))


def render(result: dict) -> str:
    lines = [
        "# Teacher ensemble on SciFact: the ceiling of distillation",
        "",
        markdown(result["provenance"]),
        f"Ran in {result['seconds']:.0f} s.",
        "",
        f"Candidates: the union of BM25's and splade-tiny's exact top {result['depth']} "
        f"(test: {result['mean_candidates_test']:.0f} per query on average). Weights "
        f"({', '.join(result['teachers'])}) chosen on a grid over {result['held_out_queries']} "
        f"held-out SciFact train queries (seed {result['seed']}): "
        f"{', '.join(f'{w:.1f}' for w in result['weights'])}.",
        "",
        "| ranker | weights | nDCG@10 held-out train | nDCG@10 test |",
        "|---|---|---:|---:|",
    ]
    for row in result["rows"]:
        weights = ", ".join(f"{w:.1f}" for w in row["weights"])
        lines.append(f"| {row['ranker']} | {weights} | {row['held_out']:.3f} | {row['test']:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    run_main(main)
