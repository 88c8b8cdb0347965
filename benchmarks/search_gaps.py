"""What a search costs when the core waits between searches, as a served one at 1 client does.

``lsr serve``'s search threads took 7.98 ms of CPU per request at 1 client on the 1M synthetic
index, against 6.1 ms for the same searches in a plain loop, and 6.36 ms at 8 clients, where a
search thread never waits (reports/bench-serve-1m-idle-s6). Between two requests of one client
a search thread sleeps while the answer goes out, wrk reads it and sends the next: the core
idles or runs other work, and what the search had in its caches and TLB is partly gone when
the next one starts. This times the same queries in process with sleeps of ``--gaps`` ms
between them, the thread's own CPU clock around each search only (so the sleeps and the
machine's other jobs are not counted, but their effect on the caches is), in rounds that visit
the gaps in alternating order, and reports each gap's median CPU per search over the gap-0
loop's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click
import numpy as np
from lsr.index.open import open_index

from benchmarks import provenance
from benchmarks.index import CACHE, synthetic_files
from lsr.vector_io import read_vectors


def cpu_per_search(index: Any, rows: list, gap_s: float) -> np.ndarray:
    """Thread CPU seconds of each search of ``rows``, sleeping ``gap_s`` before each."""
    spent = np.empty(len(rows))
    for i, (terms, weights) in enumerate(rows):
        if gap_s:
            time.sleep(gap_s)
        start = time.thread_time()
        index.search(terms, weights, k=10)
        spent[i] = time.thread_time() - start
    return spent


def measure(index: Any, rows: list, gaps_ms: list[float], rounds: int) -> dict[str, Any]:
    """Median CPU ms per search at each gap, per round; the rounds take the next queries and
    visit the gaps forwards, then backwards, so that drift does not favour one gap."""
    per_round = max(1, len(rows) // rounds)
    cpu_ms: dict[float, list[float]] = {gap: [] for gap in gaps_ms}
    for r in range(rounds):
        picked = rows[r * per_round : (r + 1) * per_round]
        for gap in gaps_ms if r % 2 == 0 else gaps_ms[::-1]:
            cpu_ms[gap].append(1000 * float(np.median(cpu_per_search(index, picked, gap / 1000))))
    return {
        "queries_per_round": per_round,
        "gaps": [
            {"gap_ms": gap, "cpu_ms": cpu_ms[gap], "median_cpu_ms": float(np.median(cpu_ms[gap]))}
            for gap in gaps_ms
        ],
    }


def markdown(payload: dict[str, Any]) -> str:
    result = payload["result"]
    base = result["gaps"][0]["median_cpu_ms"]
    lines = [
        "# Search CPU with the core waiting between searches",
        "",
        provenance.markdown(payload["provenance"]),
        "",
        f"{payload['index']}: {result['queries_per_round']} queries a round, "
        f"{payload['rounds']} rounds; each search's thread CPU time, median per round; load "
        f"(1 min) {payload['load'][0]:.1f} before, {payload['load'][1]:.1f} after.",
        "",
        "| gap between searches, ms | median CPU ms per search (of the rounds' medians) | "
        f"x gap {result['gaps'][0]['gap_ms']:g} | per round |",
        "|---|---|---|---|",
    ]
    for gap in result["gaps"]:
        rounds = " ".join(f"{x:.2f}" for x in gap["cpu_ms"])
        lines.append(
            f"| {gap['gap_ms']:g} | {gap['median_cpu_ms']:.3f} | "
            f"{gap['median_cpu_ms'] / base:.2f}x | {rounds} |"
        )
    return "\n".join(lines) + "\n"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--n-docs", default=1_000_000, show_default=True, help="Synthetic collection size.")
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=CACHE,
    show_default=True,
    help="Folder holding the synthetic collection's files and index (benchmarks.serve's).",
)
@click.option(
    "--gaps",
    default="0,1,3,10",
    show_default=True,
    help="Milliseconds slept before each search, comma-separated; the first is the base.",
)
@click.option("--queries", "n_queries", default=1000, show_default=True)
@click.option("--rounds", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--out", default="reports/search-gaps", show_default=True, help="OUT.md, OUT.json")
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(**options: Any) -> None:
    """Time the same searches with sleeps between them (the CPU clock of the searching thread)."""
    origin = provenance.record(
        provenance.command_line("benchmarks.search_gaps"), options["allow_dirty"]
    )
    stem, _, queries_path = synthetic_files(options["n_docs"], 1000, seed=0, cache=options["cache"])
    index_dir = options["cache"] / f"{stem}.index"
    index = open_index(index_dir)
    queries = read_vectors(queries_path).slice(0, options["n_queries"])
    rows = [queries.row(i) for i in range(len(queries))]
    load_before = os.getloadavg()[0]
    cpu_per_search(index, rows, 0.0)  # maps the index's pages in, makes the search arrays
    gaps = [float(g) for g in options["gaps"].split(",")]
    result = measure(index, rows, gaps, options["rounds"])
    payload = {
        "provenance": origin, "index": str(index_dir), "rounds": options["rounds"],
        "result": result, "load": [load_before, os.getloadavg()[0]],
    }  # fmt: skip
    click.echo(provenance.save_report(Path(options["out"]), payload, markdown(payload)))


if __name__ == "__main__":
    provenance.run_main(main)
