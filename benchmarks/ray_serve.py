"""``make bench-ray-serve``: one client's latency through ``lsr serve --ray`` beside ``lsr serve``.

Both servers serve the same sharded index (the 200k synthetic collection in 2 shards, as
``make bench-sharded`` builds it; ``--no-model``: vector queries, so that encoding is not in the
figure) on 127.0.0.1; one client sends each query to one server, then the other, interleaved,
and the median and p99 of each are kept. Ray Serve's overhead per query is the difference: the
ingress's call to each shard's deployment (a Ray actor call each way) against a thread per
shard in the single process.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import click
import httpx
import numpy as np
from lsr.service.process import ServiceProcess

from benchmarks import provenance
from benchmarks.index import CACHE, synthetic_files
from benchmarks.sharded import build
from lsr.vector_io import read_vectors

ROOT = Path(__file__).resolve().parents[1]
K = 10


def measure(options: dict[str, Any], cache: Path = CACHE) -> dict[str, Any]:
    stem, docs, queries_path = synthetic_files(options["n_docs"], 1000, options["seed"], cache)
    index = cache / f"{stem}-sharded-{options['shards']}"
    build(docs, index, options["shards"])
    queries = read_vectors(queries_path).slice(0, options["n_queries"])
    bodies = [_body(*queries.row(q)) for q in range(len(queries))]
    cpus = 2 / (options["shards"] + 1)  # the ingress and every shard fit the 2-CPU runtime
    with tempfile.TemporaryDirectory(prefix="bench-ray-serve-") as logs:
        with (
            ServiceProcess(index, "--no-model", log_path=Path(logs) / "plain.log") as plain,
            ServiceProcess(index, "--no-model", "--ray", "--cpus-per-replica", str(cpus),
                           log_path=Path(logs) / "ray.log") as ray,
        ):  # fmt: skip
            seconds = _interleaved([plain.url, ray.url], bodies, options["rounds"])
    names = ("lsr serve", "lsr serve --ray")
    result = {name: _summary(s) for name, s in zip(names, seconds)}
    result["overhead_ms"] = result[names[1]]["p50_ms"] - result[names[0]]["p50_ms"]
    return {"index": str(index), **result}


def _body(terms: np.ndarray, weights: np.ndarray) -> dict[str, Any]:
    return {"vector": {"indices": terms.tolist(), "values": weights.tolist()}, "k": K}


def _interleaved(urls: list[str], bodies: list[dict], rounds: int) -> list[list[float]]:
    """Seconds of each request to each server, the servers taking turns per query (one
    unrecorded pass first: the index's pages into the page cache, Ray's handles warmed)."""
    seconds: list[list[float]] = [[] for _ in urls]
    with httpx.Client(timeout=60) as client:
        for recorded in [False] + [True] * rounds:
            for body in bodies:
                for i, url in enumerate(urls):
                    start = time.perf_counter()
                    answer = client.post(f"{url}/search", json=body)
                    took = time.perf_counter() - start
                    answer.raise_for_status()
                    if recorded:
                        seconds[i].append(took)
    return seconds


def _summary(seconds: list[float]) -> dict[str, float]:
    ms = 1000 * np.asarray(seconds)
    return {"p50_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99)),
            "n": len(ms)}  # fmt: skip


def markdown(payload: dict[str, Any]) -> str:
    result, options = payload["result"], payload["options"]
    rows = "\n".join(
        f"| {name} | {result[name]['p50_ms']:.2f} | {result[name]['p99_ms']:.2f} | "
        f"{result[name]['n']} |"
        for name in ("lsr serve", "lsr serve --ray")
    )
    return (
        f"# Ray Serve's overhead per query at one client\n\n"
        f"{provenance.markdown(payload['provenance'])}\n"
        f"Load average before / after: {payload['load_before']} / {payload['load_after']}\n\n"
        f"{options['n_docs']:,} synthetic documents in {options['shards']} shards "
        f"(`{result['index']}`), {options['n_queries']} vector queries x {options['rounds']} "
        f"rounds, top-{K}, one client, the two servers taking turns per query.\n\n"
        "| server | p50 ms | p99 ms | requests |\n|---|---:|---:|---:|\n"
        f"{rows}\n\nRay Serve's overhead at p50: **{result['overhead_ms']:.2f} ms** per query.\n"
    )


@click.command()
@click.option("--n-docs", type=int, default=200_000, show_default=True)
@click.option("--shards", type=click.IntRange(min=2), default=2, show_default=True)
@click.option("--n-queries", type=int, default=200, show_default=True)
@click.option("--rounds", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), default=ROOT / "reports" / "bench-ray-serve"
)
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(out: Path, allow_dirty: bool, **options: Any) -> None:
    """One client's latency through lsr serve --ray against lsr serve on the same index."""
    text = provenance.measure_and_report(
        "benchmarks.ray_serve", out, allow_dirty, options, measure, markdown
    )
    click.echo(text)


if __name__ == "__main__":
    provenance.run_main(main)
