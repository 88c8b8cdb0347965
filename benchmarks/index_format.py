"""A saved index in format 3 against its format 4 twin (issue 15): what opening it and its first
query cost, and the memory a searching process holds.

Format 4 saves the forward index's rows side by side, as search reads them (``index/forward.py``);
format 3 saved two arrays, from which search makes a side-by-side copy in anonymous memory on
the first query. ``--twin`` writes the format 4 twin of a format 3 index (loaded and saved:
saving lays the forward index side by side): the rows a rebuild would save, every other array the same, so
that the two differ in the forward index's layout alone.

Each round opens each index in a fresh Python process (rounds interleaved; one untimed round
first, so that both are read from a warm page cache and the figures are CPU, not disk): the
imports, then ``SeismicIndex.load`` timed, the first query timed (format 3's copy is made
there), then ``--n-queries`` more queries one at a time (median, and the minor page faults they
take: a mapped page's first touch by a process); then the process's memory from
``/proc/self/smaps_rollup``: RSS, PSS and anonymous (the copy is anonymous; the mapped files are
page cache that other processes share). The fastest round of each counts for the times, the
last round for the memory.

    python -m benchmarks.index_format --old DIR3 --new DIR4 --twin --queries Q.parquet \\
        --query-cut 5 --heap-factor 0.9 --rounds 5 --out reports/index-format-200k
"""

from __future__ import annotations

import json
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from benchmarks import provenance

_PROBE = "import sys, json; from benchmarks.index_format import probe; print(json.dumps(probe(*sys.argv[1:])))"


def twin(old: Path, new: Path) -> None:
    """Write the format 4 twin of the index at ``old`` into ``new`` (saving writes the current
    format)."""
    from lsr.index import SeismicIndex

    SeismicIndex.load(old).save(new)


def _memory_kib() -> dict[str, int]:
    text = Path("/proc/self/smaps_rollup").read_text()
    return {
        name.lower(): int(re.search(rf"^{name}:\s+(\d+) kB", text, re.MULTILINE).group(1))
        for name in ("Rss", "Pss", "Anonymous")
    }


def probe(directory: str, queries_path: str, n: str, query_cut: str, heap_factor: str) -> dict:
    """Run in a fresh process: load, first query, ``n`` more queries, memory (see the module
    docstring)."""
    from lsr.index import SeismicIndex

    from lsr.vector_io import read_vectors

    queries = read_vectors(queries_path)
    settings = {"k": 10, "query_cut": int(query_cut), "heap_factor": float(heap_factor)}
    settings["engine"] = "seismic"
    start = time.perf_counter()
    index = SeismicIndex.load(directory)
    loaded = time.perf_counter()
    index.search(*queries.row(0), **settings)
    first = time.perf_counter()
    times = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for q in range(1, min(int(n), len(queries) - 1) + 1):
        at = time.perf_counter()
        index.search(*queries.row(q), **settings)
        times.append(time.perf_counter() - at)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {
        "load_ms": 1e3 * (loaded - start),
        "first_query_ms": 1e3 * (first - loaded),
        "query_p50_us": 1e6 * statistics.median(times),
        "faults_per_query": faults / max(len(times), 1),
        "layout": index.forward.layout,
        "memory_kib": _memory_kib(),
    }


def _run_probe(directory: Path, options: dict[str, Any]) -> dict:
    args = [str(directory), str(options["queries_path"]), str(options["n_queries"])]
    args += [str(options["query_cut"]), str(options["heap_factor"])]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(record: dict[str, Any], results: dict[str, dict]) -> str:
    old, new = results["format 3"], results["format 4"]
    lines = [
        "# Format 3 against format 4 of one saved index: load, first query, memory",
        "",
        provenance.markdown(record),
        f"Format 3: `{record['old']}`; format 4: `{record['new']}` (its twin: the same arrays but "
        "the forward index's rows saved side by side). Each round opens each index in a fresh "
        "process (warm page cache); fastest of the rounds for times, the last round's memory. "
        f"query_cut {record['query_cut']}, heap_factor {record['heap_factor']}, one query at a "
        f"time, {record['n_queries']} queries after the first.",
        "",
        "| | format 3 | format 4 | 4 / 3 |",
        "|---|---|---|---|",
    ]
    for key, label in (
        ("load_ms", "load (ms)"),
        ("first_query_ms", "first query (ms)"),
        ("query_p50_us", "later queries, median (µs)"),
        ("faults_per_query", "later queries' minor page faults, each"),
    ):
        a, b = old["best"][key], new["best"][key]
        lines.append(f"| {label} | {a:,.1f} | {b:,.1f} | {f'{b / a:.2f}x' if a else '-'} |")
    for key in ("rss", "pss", "anonymous"):
        a, b = old["memory_kib"][key] / 1024, new["memory_kib"][key] / 1024
        lines.append(f"| {key.upper() if key != 'anonymous' else 'anonymous'} after (MiB) | "
                     f"{a:,.0f} | {b:,.0f} | {b / a:.2f}x |")  # fmt: skip
    lines += ["", "Every round (ms / ms / µs):", ""]
    for name, result in results.items():
        rounds = "; ".join(
            f"{r['load_ms']:.1f} / {r['first_query_ms']:.1f} / {r['query_p50_us']:.0f}"
            for r in result["rounds"]
        )
        lines.append(f"- {name}: {rounds}")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--old", "old_dir", type=click.Path(exists=True, path_type=Path), required=True,
              help="A format 3 index.")  # fmt: skip
@click.option("--new", "new_dir", type=click.Path(path_type=Path), required=True,
              help="Its format 4 twin (written first with --twin).")  # fmt: skip
@click.option("--twin", "make_twin", is_flag=True, help="Write --new from --old first.")
@click.option("--queries", "queries_path", type=click.Path(exists=True, path_type=Path),
              required=True)  # fmt: skip
@click.option("--n-queries", default=200, show_default=True, help="Queries after the first.")
@click.option("--query-cut", default=5, show_default=True)
@click.option("--heap-factor", default=0.9, show_default=True)
@click.option("--rounds", default=5, show_default=True, help="Interleaved rounds.")
@click.option("--out", required=True, help="Report path without suffix (OUT.json, OUT.md).")
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(
    old_dir: Path, new_dir: Path, make_twin: bool, rounds: int, out: str, allow_dirty: bool,
    **options: Any,
) -> None:  # fmt: skip
    """Format 3 against format 4: load, first query, later queries, memory, in fresh processes."""
    record = provenance.record(provenance.command_line("benchmarks.index_format"), allow_dirty)
    if make_twin and not new_dir.exists():
        click.echo(f"writing the format 4 twin {new_dir}", err=True)
        twin(old_dir, new_dir)
    dirs = {"format 3": old_dir, "format 4": new_dir}
    for directory in dirs.values():  # untimed: the page cache warm for both
        _run_probe(directory, options)
    results: dict[str, dict] = {name: {"rounds": []} for name in dirs}
    for round_ in range(rounds):
        for name, directory in dirs.items():
            results[name]["rounds"].append(_run_probe(directory, options))
        click.echo(f"round {round_ + 1}/{rounds}", err=True)
    for result in results.values():
        result["memory_kib"] = result["rounds"][-1]["memory_kib"]
        keys = ("load_ms", "first_query_ms", "query_p50_us", "faults_per_query")
        result["best"] = {k: min(r[k] for r in result["rounds"]) for k in keys}
    record |= {"old": str(old_dir), "new": str(new_dir), "rounds": rounds, **options}
    record["queries_path"] = str(options["queries_path"])
    payload = {"provenance": record, "results": results}
    print(provenance.save_report(out, payload, markdown(record, results)))


if __name__ == "__main__":
    main()
