"""``make bench-build-memory``: peak memory and time of ``lsr index build`` against its bound.

The bound (issue 15): peak resident memory at most 1.5x the final index + 1 GiB. Each build runs
in a fresh process (:mod:`benchmarks.build_worker`: streamed from the Parquet file, one thread,
the Numba kernels compiled before the peak is reset), on synthetic SPLADE-like collections of
the sizes given. The report gives the per-document costs (peak bytes, index bytes, CPU seconds)
from which the README plans 10M- and 100M-document builds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from benchmarks import provenance
from benchmarks.build_worker import run_build
from benchmarks.index import CACHE, synthetic_files

GIB = 2**30


def bench_size(n_docs: int, options: dict[str, Any], cache: Path = CACHE) -> dict[str, Any]:
    name, docs_path, _ = synthetic_files(n_docs, options["n_queries"], options["seed"], cache)
    params = {"n_postings": options["n_postings"]}
    build = run_build("ours", docs_path, params, cache / "indexes" / f"{name}-memory")
    bound = 1.5 * build["index_bytes"] + GIB
    return {
        "dataset": name,
        "n_docs": n_docs,
        "params": params,
        **build,
        "bound_bytes": bound,
        "peak_over_bound": build["peak_rss_bytes"] / bound,
        "per_doc": {
            "peak_bytes": build["peak_rss_bytes"] / n_docs,
            "index_bytes": build["index_bytes"] / n_docs,
            "cpu_s": build["build_cpu_s"] / n_docs,
        },
    }


def markdown(payload: dict[str, Any]) -> str:
    lines = [
        "# lsr index build: peak memory against 1.5x the index + 1 GiB",
        "",
        provenance.markdown(payload["provenance"]),
        "Fresh process per build, streamed from Parquet, one thread; peak = VmHWM of the whole "
        "process (Python, Numba, pyarrow included) from just before the build.",
        "",
        "| collection | docs | build s (CPU s) | peak MiB | index MiB | bound MiB | peak / bound "
        "| per doc: peak B, index B, CPU µs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in payload["results"]:
        d = r["per_doc"]
        lines.append(
            f"| {r['dataset']} | {r['n_docs']:,} | {r['build_s']:.0f} ({r['build_cpu_s']:.0f}) "
            f"| {r['peak_rss_bytes'] / 2**20:,.0f} | {r['index_bytes'] / 2**20:,.0f} "
            f"| {r['bound_bytes'] / 2**20:,.0f} | {r['peak_over_bound']:.2f} "
            f"| {d['peak_bytes']:,.0f}, {d['index_bytes']:,.0f}, {1e6 * d['cpu_s']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--n-docs", "sizes", multiple=True, type=int, default=(200_000,), show_default=True)
@click.option("--n-queries", type=int, default=1000, show_default=True)
@click.option("--n-postings", type=int, default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", default="reports/bench-build-memory", show_default=True)
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(allow_dirty: bool, sizes: tuple[int, ...], out: str, **options: Any) -> None:
    """Peak memory of lsr index build on synthetic collections of the given sizes."""
    origin = provenance.record(provenance.command_line("benchmarks.build_memory"), allow_dirty)
    payload = {"provenance": origin, "options": options, "results": []}
    for n_docs in sizes:
        payload["results"].append(bench_size(n_docs, options))
        text = provenance.save_report(out, payload, markdown(payload))
    click.echo(text)
    click.echo(json.dumps([r["per_doc"] for r in payload["results"]]))


if __name__ == "__main__":
    provenance.run_main(main)
