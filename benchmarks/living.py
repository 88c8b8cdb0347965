"""``make bench-living``: a living index against a full rebuild, and filtered search against
exact filtered search and post-filtering, in one run.

Synthetic SPLADE-like documents (:mod:`benchmarks.synthetic`): the first ``n_docs`` are built
into an index as ``lsr index build`` builds it; ``--added`` more are then added to it as a
segment (``LivingIndex.add``), and, for comparison, all of them are indexed from scratch (the full
rebuild: one segment, as ``lsr index add`` into an empty folder builds it, with the documents'
attributes). Reported:

1. add time against rebuild time (target <= 1/5);
2. latency (one thread, mean µs per query, fastest of interleaved rounds) and accuracy@10 (against
   exact search over the same documents) of the index with its added segment against the rebuild
   (targets: latency within 1.2x, accuracy within 0.005);
3. on the rebuild, filters of 50%, 10% and 1% selectivity (an attribute ``bucket`` uniform in
   0..99, ``range lt 50 / 10 / 1``): accuracy@10 against exact filtered search and latency
   against unfiltered search, for our search (pre-filtering in the block loop, or a scan of the
   allowed documents when they are at most ``SCAN_FRACTION`` of a segment), each of its two
   paths forced, Seismic at the unfiltered query_cut (the index's default given explicitly, so
   not scaled to the filter's selectivity: :mod:`index.selectivity`), and post-filtering (the
   unfiltered top-``post_k``, then the allowed ones kept).
   Targets at 10%: accuracy >= 0.95, latency <= 2x unfiltered.
"""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import click
import numpy as np
from lsr.index import BuildConfig, SeismicIndex, segmented
from lsr.index.accuracy import accuracy_at_k
from lsr.index.config import SearchDefaults
from lsr.index.filters import parse
from lsr.index.living import LivingIndex
from lsr.index.results import SearchResults
from lsr.index.selectivity import scaled_query_cut
from lsr.index.timing import fastest, one_thread

from benchmarks import provenance
from benchmarks.index import CACHE, load_data

K = 10
SELECTIVITIES = (0.5, 0.1, 0.01)


def timed(call) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


@contextmanager
def scan_fraction(value: float):
    """Force one path of filtered search: 0 always Seismic, 1 always the scan."""
    before = segmented.SCAN_FRACTION
    segmented.SCAN_FRACTION = value
    try:
        yield
    finally:
        segmented.SCAN_FRACTION = before


def latency_us(runs: dict[str, Any], n_queries: int, rounds: int) -> dict[str, float]:
    with one_thread():
        for run in runs.values():  # kernels loaded, filter sets cached before timing
            run()
        seconds = fastest(list(runs.values()), rounds)
    return {name: 1e6 * s / n_queries for name, s in zip(runs, seconds)}


def post_filter(index, queries, filter_, post_k: int) -> SearchResults:
    """The unfiltered top-``post_k``, then the first K of them the filter allows."""
    results = index.search_batch(queries, k=post_k)
    allowed = np.zeros(len(index.doc_ids), dtype=bool)
    for part in index.parts:
        allowed[part.allowed(filter_)[0] + part.offset] = True
    docs = np.full((len(queries), K), -1, np.int64)
    scores = np.zeros((len(queries), K), np.float32)
    for q in range(len(queries)):
        keep = [i for i, d in enumerate(results.docs[q].tolist()) if d >= 0 and allowed[d]][:K]
        docs[q, : len(keep)] = results.docs[q, keep]
        scores[q, : len(keep)] = results.scores[q, keep]
    return SearchResults(queries.ids, docs, scores, index.doc_ids)


def warm_up(docs, attributes, config, defaults, directory: Path) -> None:
    """The same steps on 12,000 documents first, so that no timing includes compiling (or
    loading) a kernel."""
    SeismicIndex.build(docs.slice(0, 10_000), config, search_defaults=defaults).save(directory)
    with LivingIndex.open(directory) as index:
        index.add(docs.slice(10_000, 12_000), attributes)
        index.add(docs.slice(12_000, 18_000), attributes)
        filter_ = {"must": [{"key": "bucket", "range": {"lt": 10}}]}
        with one_thread():
            index.search_batch(docs.slice(0, 2), k=K, filter=filter_)
            index.reader.exact().search_batch(docs.slice(0, 2), k=K, filter=filter_)
    shutil.rmtree(directory)


def bench(options: dict[str, Any], work: Path) -> dict[str, Any]:
    n_base, n_added = options["n_docs"], options["added"]
    data = load_data("synthetic", n_base + n_added, options["n_queries"], options["seed"])
    docs, queries = data.docs, data.queries
    config = BuildConfig(n_postings=options["n_postings"])
    defaults = SearchDefaults()  # engine seismic: the index is what is measured
    rng = np.random.default_rng(options["seed"])
    buckets = rng.integers(0, 100, size=len(docs))
    attributes = {doc_id: {"bucket": int(b)} for doc_id, b in zip(docs.ids, buckets.tolist())}

    shutil.rmtree(work, ignore_errors=True)
    warm_up(docs, attributes, config, defaults, work / "warm-up")
    rebuilt = LivingIndex.open(work / "rebuild", docs.metadata, config, defaults)
    _, rebuild_s = timed(lambda: rebuilt.add(docs, attributes))
    one = rebuilt.reader
    if options["filtered_only"]:
        segments = None
        unfiltered_us = latency_us(
            {"rebuild": partial(one.search_batch, queries, k=K)}, len(queries), options["rounds"]
        )["rebuild"]
    else:
        segments = added_segment(docs, queries, n_base, config, defaults, one, rebuild_s, work,
                                 options["rounds"])  # fmt: skip
        unfiltered_us = segments["latency_us"]["rebuild"]
    filtered = [filtered_row(one, queries, s, unfiltered_us, options) for s in SELECTIVITIES]
    rebuilt.close()
    return {
        "n_docs": n_base, "added": n_added, "n_queries": len(queries),
        "build_config": config.to_json(), "search_defaults": defaults.to_json(),
        "scan_fraction": segmented.SCAN_FRACTION, "rebuild_seconds": round(rebuild_s, 2),
        "unfiltered_us": unfiltered_us, "segments": segments, "filtered": filtered,
    }  # fmt: skip


def added_segment(docs, queries, n_base, config, defaults, one, rebuild_s, work, rounds):
    """The first ``n_base`` documents built, the others added as a segment, against the
    rebuild ``one`` of all of them: times, latency and accuracy@10."""
    base = work / "living"
    _, base_s = timed(
        lambda: SeismicIndex.build(docs.slice(0, n_base), config, search_defaults=defaults).save(
            base
        )
    )
    living = LivingIndex.open(base)
    _, add_s = timed(lambda: living.add(docs.slice(n_base, len(docs))))
    two = living.reader
    truth_two = two.exact().search_batch(queries, k=K)
    truth_one = one.exact().search_batch(queries, k=K)
    unfiltered = latency_us(
        {"added segment": partial(two.search_batch, queries, k=K),
         "rebuild": partial(one.search_batch, queries, k=K)},
        len(queries), rounds,
    )  # fmt: skip
    segments = {
        "add_seconds": round(add_s, 2),
        "rebuild_seconds": round(rebuild_s, 2),
        "base_build_seconds": round(base_s, 2),
        "add_over_rebuild": add_s / rebuild_s,
        "latency_us": unfiltered,
        "latency_ratio": unfiltered["added segment"] / unfiltered["rebuild"],
        "accuracy": {
            "added segment": accuracy_at_k(two.search_batch(queries, k=K), truth_two, K),
            "rebuild": accuracy_at_k(one.search_batch(queries, k=K), truth_one, K),
        },
        "segments": two.stats["segments"],
    }
    living.close()
    return segments


def filtered_row(index, queries, selectivity, unfiltered_us, options) -> dict[str, Any]:
    filter_ = parse({"must": [{"key": "bucket", "range": {"lt": round(100 * selectivity)}}]})
    truth = index.exact().search_batch(queries, k=K, filter=filter_)
    unscaled = index.search_defaults.query_cut
    with scan_fraction(0.0):
        seismic = index.search_batch(queries, k=K, filter=filter_)
        fixed = index.search_batch(queries, k=K, query_cut=unscaled, filter=filter_)
    with scan_fraction(1.0):
        scan = index.search_batch(queries, k=K, filter=filter_)
    ours = index.search_batch(queries, k=K, filter=filter_)
    post = post_filter(index, queries, filter_, options["post_k"])

    def forced(value, **params):
        def run():
            with scan_fraction(value):
                index.search_batch(queries, k=K, filter=filter_, **params)

        return run

    latency = latency_us(
        {"ours": partial(index.search_batch, queries, k=K, filter=filter_),
         "seismic pre-filter": forced(0.0), "scan": forced(1.0),
         "fixed query_cut": forced(0.0, query_cut=unscaled),
         "post-filter": partial(post_filter, index, queries, filter_, options["post_k"])},
        len(queries), options["rounds"],
    )  # fmt: skip
    allowed = int(sum(len(p.allowed(filter_)[0]) for p in index.parts))
    return {
        "selectivity": selectivity,
        "allowed": allowed,
        "query_cut": scaled_query_cut(unscaled, allowed / len(index.doc_ids)),
        "accuracy": {
            "ours": accuracy_at_k(ours, truth, K),
            "seismic pre-filter": accuracy_at_k(seismic, truth, K),
            "scan": accuracy_at_k(scan, truth, K),
            "fixed query_cut": accuracy_at_k(fixed, truth, K),
            "post-filter": accuracy_at_k(post, truth, K),
        },
        "latency_us": latency,
        "over_unfiltered": {name: us / unfiltered_us for name, us in latency.items()},
    }


def segment_lines(r: dict[str, Any]) -> list[str]:
    s = r["segments"]
    if s is None:
        return [
            f"Added segment not measured (--filtered-only): the rebuild alone, built in "
            f"{r['rebuild_seconds']} s, unfiltered latency {r['unfiltered_us']:,.0f} µs.",
            "",
        ]
    return [
        "| | add | full rebuild | ratio | target |",
        "|---|---|---|---|---|",
        f"| time (s) | {s['add_seconds']} | {s['rebuild_seconds']} | {s['add_over_rebuild']:.3f} "
        "| <= 0.2 |",
        f"| latency (µs) | {s['latency_us']['added segment']:,.0f} | "
        f"{s['latency_us']['rebuild']:,.0f} | {s['latency_ratio']:.3f} | <= 1.2 |",
        f"| accuracy@10 | {s['accuracy']['added segment']:.4f} | {s['accuracy']['rebuild']:.4f} | "
        f"{s['accuracy']['added segment'] - s['accuracy']['rebuild']:+.4f} | >= -0.005 |",
        "",
        f"Segments after the addition: {s['segments']}; the base built in {s['base_build_seconds']}"
        " s.",
        "",
    ]


def markdown(payload: dict[str, Any]) -> str:
    r = payload["result"]
    lines = [
        "# Living index: an added segment against a full rebuild; filtered search",
        "",
        provenance.markdown(payload["provenance"]),
        f"Synthetic documents: {r['n_docs']:,} built, {r['added']:,} added; {r['n_queries']:,} "
        f"queries; build {r['build_config']}; search defaults {r['search_defaults']}. Latency: one "
        "thread, mean µs per query, fastest of interleaved rounds. accuracy@10 against exact "
        "search over the same documents (filtered: exact filtered search).",
        "",
        *segment_lines(r),
        f"Filtered search on the rebuild (ours: Seismic pre-filter with the query_cut scaled to "
        f"the allowed share, or a scan of the allowed documents when they are <= "
        f"{r['scan_fraction']:.1%} of a segment; fixed query_cut: Seismic pre-filter at the "
        f"unfiltered query_cut; post-filter: top {payload['options']['post_k']} unfiltered, then "
        "filtered). Accuracy@10 / latency µs / latency over unfiltered:",
        "",
        "| selectivity | allowed (scaled query_cut) | ours | Seismic pre-filter | scan | fixed query_cut "
        "| post-filter |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["filtered"]:
        cells = [
            f"{row['accuracy'][m]:.4f} / {row['latency_us'][m]:,.0f} / "
            f"{row['over_unfiltered'][m]:.2f}x"
            for m in ("ours", "seismic pre-filter", "scan", "fixed query_cut", "post-filter")
        ]
        lines.append(
            f"| {row['selectivity']:.0%} | {row['allowed']:,} ({row['query_cut']}) | "
            + " | ".join(cells)
            + " |"
        )
    lines += ["", "Targets at 10%: accuracy@10 >= 0.95, latency <= 2x unfiltered."]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--n-docs", type=int, default=200_000, show_default=True, help="Built first.")
@click.option("--added", type=int, default=20_000, show_default=True, help="Added as a segment.")
@click.option("--n-queries", type=int, default=300, show_default=True)
@click.option("--n-postings", type=int, default=1000, show_default=True)
@click.option("--rounds", type=int, default=3, show_default=True)
@click.option("--post-k", type=int, default=100, show_default=True, help="Post-filtering's depth.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--filtered-only",
    is_flag=True,
    help="Build the rebuild only and measure filtered search on it (half the time at 1M).",
)
@click.option("--out", default="reports/bench-living", show_default=True)
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(allow_dirty: bool, out: str, **options: Any) -> None:
    """A living index against a full rebuild; filtered search against exact and post-filtering."""
    origin = provenance.record(provenance.command_line("benchmarks.living"), allow_dirty)
    work = CACHE / f"living-{options['n_docs']}-{options['added']}"
    payload = {"provenance": origin, "options": options, "result": bench(options, work)}
    shutil.rmtree(work, ignore_errors=True)
    click.echo(provenance.save_report(out, payload, markdown(payload)))


if __name__ == "__main__":
    provenance.run_main(main)
