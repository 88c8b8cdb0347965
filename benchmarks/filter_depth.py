"""Why filtered Seismic search loses accuracy: what the visited lists hold against what the
search returns, by query_cut and heap_factor (no timing: a diagnosis, not a speed claim).

On a saved Seismic index and its queries, with the attribute ``bucket`` drawn as
:mod:`benchmarks.living` draws it (uniform in 0..99 from ``--seed``), for each selectivity:

- coverage at c lists: the share of the exact filtered top-10 found in the postings of the
  query's c heaviest entries' lists (whatever the skip test does): the best any search visiting
  those lists can do; at every list, the bound the static pruning sets;
- per (query_cut, heap_factor): accuracy@10 of the pre-filtered search (the query_cut as given,
  not scaled: :mod:`index.selectivity` is what this measures for), its worst query, the share of
  queries below 0.9, and the mean allowed documents the kernel scored.

Accuracy below the coverage at the same c is lost by the skip test (heap_factor); coverage below
1 is lost by the lists not visited (query_cut) and, at every list, by pruning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np
from lsr.index import SeismicIndex, bitset
from lsr.index.scan import scan

from benchmarks import provenance
from lsr.vector_io import read_vectors

K = 10
EVERY_LIST = 1_000_000


def numbers(text: str, kind=float) -> list:
    return [kind(x) for x in text.split(",")]


def coverage(index: SeismicIndex, queries, truth: np.ndarray, cut: int) -> float:
    """Mean share of each query's ``truth`` row in the postings of its ``cut`` heaviest lists."""
    postings = index.postings
    first_post = postings.block_ptr[postings.list_block_ptr]
    shares = []
    for q in range(len(queries)):
        terms, weights = queries.row(q)
        wanted = truth[q][truth[q] >= 0]
        found = np.zeros(len(wanted), dtype=bool)
        for t in terms[np.argsort(-weights, kind="mergesort")[:cut]]:
            found |= np.isin(wanted, postings.post_docs[first_post[t] : first_post[t + 1]])
        shares.append(found.mean() if len(wanted) else 1.0)
    return float(np.mean(shares))


def row(index, queries, allowed: np.ndarray, options: dict[str, Any]) -> dict[str, Any]:
    arrays = (queries.indptr, queries.indices, queries.values)
    truth, _ = scan(index.forward, np.flatnonzero(allowed), arrays, K)
    excluded = bitset.from_mask(~allowed)
    cuts = [*options["query_cuts"], EVERY_LIST]
    searches = []
    for query_cut in options["query_cuts"]:
        for heap_factor in options["heap_factors"]:
            found = index.search_batch(
                queries, k=K, query_cut=query_cut, heap_factor=heap_factor, exclude=excluded
            )
            per_query = np.array(
                [
                    len(set(found.docs[q].tolist()) & set(t[t >= 0].tolist()))
                    / max(1, (t >= 0).sum())
                    for q, t in enumerate(truth)
                ]
            )
            searches.append({
                "query_cut": query_cut, "heap_factor": heap_factor,
                "accuracy": float(per_query.mean()), "worst": float(per_query.min()),
                "below_0.9": float((per_query < 0.9).mean()),
                "scored": float(found.scored.mean()),
            })  # fmt: skip
    return {
        "allowed": int(allowed.sum()),
        "coverage": {str(c): coverage(index, queries, truth, c) for c in cuts},
        "searches": searches,
    }


def markdown(payload: dict[str, Any]) -> str:
    lines = [
        "# Filtered Seismic search: coverage of the visited lists against accuracy@10",
        "",
        provenance.markdown(payload["provenance"]),
        f"Index `{payload['options']['index']}`, {payload['n_docs']:,} documents, "
        f"{payload['n_queries']} queries; accuracy@10 against exact filtered search.",
        "",
    ]
    for selectivity, r in payload["rows"].items():
        cover = ", ".join(
            f"{'every list' if int(c) == EVERY_LIST else c}: {v:.4f}"
            for c, v in r["coverage"].items()
        )
        lines += [
            f"## {float(selectivity):.0%} allowed ({r['allowed']:,} documents)",
            "",
            f"Coverage of the exact filtered top-10 by the lists of the c heaviest entries: {cover}",
            "",
            "| query_cut | heap_factor | accuracy@10 | worst query | queries < 0.9 | scored |",
            "|---|---|---|---|---|---|",
            *(
                f"| {s['query_cut']} | {s['heap_factor']} | {s['accuracy']:.4f} | "
                f"{s['worst']:.2f} | {s['below_0.9']:.1%} | {s['scored']:,.0f} |"
                for s in r["searches"]
            ),
            "",
        ]
    return "\n".join(lines)


@click.command()
@click.option("--index", "index_dir", required=True, help="A saved Seismic index.")
@click.option("--queries", required=True, help="The queries' Parquet.")
@click.option("--selectivities", default="0.5,0.1,0.03", show_default=True)
@click.option("--query-cuts", default="10,20,32,40", show_default=True)
@click.option("--heap-factors", default="0.8,0.6", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="As benchmarks.living's.")
@click.option("--out", default="reports/filter-depth", show_default=True)
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(allow_dirty: bool, out: str, **options: Any) -> None:
    """Coverage of the exact filtered top-10 by the visited lists, and accuracy@10 by
    query_cut and heap_factor, at each selectivity."""
    origin = provenance.record(provenance.command_line("benchmarks.filter_depth"), allow_dirty)
    index = SeismicIndex.load(Path(options["index_dir"]), mmap=True)
    queries = read_vectors(options["queries"])
    options["query_cuts"] = numbers(options["query_cuts"], int)
    options["heap_factors"] = numbers(options["heap_factors"])
    buckets = np.random.default_rng(options["seed"]).integers(0, 100, size=len(index))
    rows = {
        str(s): row(index, queries, buckets < round(100 * s), options)
        for s in numbers(options["selectivities"])
    }
    payload = {
        "provenance": origin, "options": options, "n_docs": len(index),
        "n_queries": len(queries), "rows": rows,
    }  # fmt: skip
    click.echo(provenance.save_report(out, payload, markdown(payload)))


if __name__ == "__main__":
    provenance.run_main(main)
