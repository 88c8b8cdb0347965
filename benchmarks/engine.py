"""``make bench-engine``: does ``engine auto`` pick the faster of Seismic and exact search?

For each collection the index is built as ``lsr index build`` builds it (``engine auto``), which
times both engines on 32 of its documents used as queries (:mod:`lsr.index.engine`). Then, on
the collection's real queries, in one process, one thread, interleaved rounds (the fastest
counts): Seismic at the index's search defaults, exact search (``ExactIndex`` over the stored
weights) and ``auto``. The figure that matters is auto / the faster of the two (1.00: it picked
the faster one). ``lsr index tune`` at ``--target`` is then run on the same queries, and its
choice (with the timing on real queries) is reported beside the build's.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import click
from lsr.index import BuildConfig, SeismicIndex
from lsr.index.accuracy import accuracy_at_k
from lsr.index.config import SearchDefaults
from lsr.index.timing import fastest, one_thread
from lsr.index.tuning import tune

from benchmarks import provenance
from benchmarks.index import CACHE, load_data

K = 10


def bench_dataset(name: str, options: dict[str, Any], cache: Path = CACHE) -> dict[str, Any]:
    data = load_data(name, options["n_docs"], options["n_queries"], options["seed"], cache)
    config = BuildConfig(n_postings=options["n_postings"] if name == "synthetic" else 3500)
    start = time.perf_counter()
    index = SeismicIndex.build(data.docs, config, search_defaults=SearchDefaults(engine="auto"))
    build_s = time.perf_counter() - start
    queries = data.queries
    exact = index.exact()
    engines = ("seismic", "exact", "auto")
    with one_thread():
        runs = [partial(index.search_batch, queries, k=K, engine=e) for e in engines]
        for run in runs:  # compiled kernels and the exact copy loaded before timing
            run()
        seconds = fastest(runs, options["rounds"])
    latency = {e: 1e6 * s / len(queries) for e, s in zip(engines, seconds)}
    truth = exact.search_batch(queries, k=K)
    accuracy = accuracy_at_k(index.search_batch(queries, k=K, engine="seismic"), truth, K)
    tuned = tune(index, queries, options["target"], k=K, budget_queries=options["budget"])
    choice = tuned.choice.__dict__ if tuned.choice is not None else None
    return {
        "dataset": data.name,
        "n_docs": len(data.docs),
        "n_queries": len(queries),
        "build_config": config.to_json(),
        "build_seconds": round(build_s, 1),
        "build_timing": index.stats["engines"],
        "query_latency_us": latency,
        "auto_picked": index.engine_for("auto"),
        "auto_over_faster": latency["auto"] / min(latency["seismic"], latency["exact"]),
        "seismic_accuracy_at_10": accuracy,
        "tune": {"target": options["target"], "choice": choice, "exact_us": tuned.exact_us},
    }


def markdown(payload: dict[str, Any]) -> str:
    lines = [
        "# Engine choice: Seismic or exact search, whichever is faster",
        "",
        provenance.markdown(payload["provenance"]),
        "One thread; latency = mean µs per query, fastest of interleaved rounds. Build timing: "
        "32 documents as queries, exact search timed on <= 50,000 sampled documents and scaled "
        "to the collection. Query timing: the collection's queries, Seismic at the index's "
        "search defaults.",
        "",
        "| collection | docs | build: seismic / exact µs | picked | queries: seismic / exact / "
        "auto µs | auto / faster | Seismic acc@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in payload["results"]:
        b, q = r["build_timing"], r["query_latency_us"]
        lines.append(
            f"| {r['dataset']} | {r['n_docs']:,} | {b['seismic_us']:,.0f} / {b['exact_us']:,.0f} "
            f"| {r['auto_picked']} | {q['seismic']:,.0f} / {q['exact']:,.0f} / {q['auto']:,.0f} "
            f"| {r['auto_over_faster']:.2f} | {r['seismic_accuracy_at_10']:.4f} |"
        )
    lines += ["", "`lsr index tune` on the same queries (held-out accuracy of its choice):", ""]
    for r in payload["results"]:
        t, c = r["tune"], r["tune"]["choice"]
        if c is None:
            lines.append(f"- {r['dataset']}: no setting reached {t['target']}")
            continue
        faster = "exact" if t["exact_us"] < c["latency_us"] else "seismic"
        lines.append(
            f"- {r['dataset']}: target {t['target']}: query_cut {c['query_cut']}, heap_factor "
            f"{c['heap_factor']}, first_sorted {c['first_sorted']}: held-out accuracy@10 "
            f"{c['held_out_accuracy']:.4f}, {c['latency_us']:,.0f} µs; exact "
            f"{t['exact_us']:,.0f} µs; auto then uses {faster}"
        )
    return "\n".join(lines) + "\n"


@click.command()
@click.option(
    "--data",
    "datasets",
    multiple=True,
    help="Collections (repeatable): synthetic, or a BEIR folder encoded with splade-tiny (scifact, "
    "vaswani, cranfield, or a path), as for benchmarks.index.",
)
@click.option("--n-docs", type=int, default=200_000, show_default=True, help="Synthetic docs.")
@click.option("--n-queries", type=int, default=1000, show_default=True)
@click.option("--n-postings", type=int, default=1000, show_default=True, help="Synthetic only.")
@click.option("--rounds", type=int, default=3, show_default=True)
@click.option("--target", type=float, default=0.95, show_default=True, help="tune's target.")
@click.option("--budget", type=int, default=200, show_default=True, help="tune's queries.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", default="reports/bench-engine", show_default=True)
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(allow_dirty: bool, datasets: tuple[str, ...], out: str, **options: Any) -> None:
    """Time engine auto against Seismic and exact search on real queries."""
    origin = provenance.record(provenance.command_line("benchmarks.engine"), allow_dirty)
    CACHE.mkdir(parents=True, exist_ok=True)
    payload = {"provenance": origin, "options": options, "results": []}
    for name in datasets or ("scifact", "synthetic"):
        payload["results"].append(bench_dataset(name, options))
        text = provenance.save_report(out, payload, markdown(payload))
    click.echo(text)


if __name__ == "__main__":
    provenance.run_main(main)
