"""``make bench-sharded``: one query's latency on a sharded index against the single index.

Both indexes are built by ``lsr index build`` from the same synthetic collection with the same
parameters (the sharded one with ``--shards N``; every shard keeps ``n_postings`` per list, so
the shards together keep up to N times the single index's postings: accuracy is reported beside
latency). Then, in one process, queries one at a time (the latency a user sees), interleaved
rounds, the fastest round counting (:func:`lsr.index.timing.fastest`): the single index on one
thread, and the sharded index with a thread per shard (each shard's kernel on one thread, as the
single index's). accuracy@10 of both is measured against exact search over the collection. The
figure that matters is sharded / single latency: below 1 where the shards' threads run on free
cores; on a machine other jobs keep busy, the shards' threads queue behind them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
from lsr.index.accuracy import accuracy_at_k
from lsr.index.open import open_index
from lsr.index.results import SearchResults
from lsr.index.timing import fastest, one_thread

from benchmarks import provenance
from benchmarks.index import CACHE, synthetic_files
from lsr.vector_io import read_vectors

K = 10
ROOT = Path(__file__).resolve().parents[1]


def build(docs: Path, directory: Path, shards: int) -> None:
    """``lsr index build`` in its own process, as a user builds (skipped when already there)."""
    if directory.is_dir():
        return
    command = [str(Path(sys.executable).with_name("lsr")), "index", "build", str(docs), str(directory),
               "--engine", "seismic"]  # fmt: skip
    if shards > 1:
        command += ["--shards", str(shards), "--jobs", str(shards), "--threads", "1"]
    subprocess.run(command, check=True)


def one_by_one(index, queries, doc_ids) -> SearchResults:
    """Every query searched alone (``search``, as the service searches), its hits as positions
    in ``doc_ids`` (the single index's order: a shard holds its documents in another)."""
    docs = np.full((len(queries), K), -1, np.int64)
    scores = np.zeros((len(queries), K), np.float32)
    positions = {doc_id: i for i, doc_id in enumerate(doc_ids)}
    for q in range(len(queries)):
        ids, found = index.search(*queries.row(q), k=K)
        docs[q, : len(ids)] = [positions[i] for i in ids]
        scores[q, : len(ids)] = found
    return SearchResults(queries.ids, docs, scores, doc_ids)


def measure(options: dict[str, Any], cache: Path = CACHE) -> dict[str, Any]:
    stem, docs_path, queries_path = synthetic_files(options["n_docs"], 1000, options["seed"], cache)
    queries = read_vectors(queries_path).slice(0, options["n_queries"])
    paths = {n: cache / f"{stem}-sharded-{n}" for n in (1, options["shards"])}
    for n, path in paths.items():
        build(docs_path, path, n)
    indexes = {n: open_index(path) for n, path in paths.items()}
    single = indexes[1]
    truth = single.exact().search_batch(queries, k=K)
    with one_thread():
        ids = list(single.doc_ids)
        runs = [lambda index=index: one_by_one(index, queries, ids) for index in indexes.values()]
        for run in runs:  # kernels compiled (or loaded) and pages mapped in before timing
            run()
        seconds = fastest(runs, options["rounds"])
    rows = []
    for (n, index), run, s in zip(indexes.items(), runs, seconds):
        rows.append({
            "shards": n,
            "latency_us": 1e6 * s / len(queries),
            "accuracy_at_10": accuracy_at_k(run(), truth, K),
            "postings": int(sum(part.nbytes()["postings"] for part in _segments(index))),
        })  # fmt: skip
    alone = _shards_alone(indexes[options["shards"]], queries, options["rounds"])
    return {"dataset": stem, "n_docs": len(single), "n_queries": len(queries), "rows": rows,
            "shards_alone_us": alone}  # fmt: skip


def _shards_alone(sharded, queries, rounds: int) -> list[float]:
    """Each shard's latency searched alone on one thread: the fan-out takes their maximum where
    the shards' threads overlap, their sum where they do not."""
    shards = [part.segment.seismic for part in sharded.parts]

    def run(shard):
        for q in range(len(queries)):
            shard.search(*queries.row(q), k=K)

    with one_thread():
        runs = [lambda shard=shard: run(shard) for shard in shards]
        for each in runs:
            each()
        return [1e6 * s / len(queries) for s in fastest(runs, rounds)]


def _segments(index):
    return [p.segment for p in index.parts] if hasattr(index, "parts") else [index]


def markdown(payload: dict[str, Any]) -> str:
    result = payload["result"]
    base = result["rows"][0]["latency_us"]
    lines = [
        "# Sharded search against the single index",
        "",
        provenance.markdown(payload["provenance"]),
        "",
        f"{result['dataset']}: {result['n_docs']:,} documents, {result['n_queries']} queries "
        f"searched one at a time, top-{K}, the fastest of {payload['options']['rounds']} "
        "interleaved rounds; load average before/after: "
        f"{payload['load_before']} / {payload['load_after']}.",
        "",
        "| shards | µs per query | / single | accuracy@10 | postings bytes |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['shards']} | {row['latency_us']:,.0f} | {row['latency_us'] / base:.2f}x "
            f"| {row['accuracy_at_10']:.4f} | {row['postings']:,} |"
        )
    alone = result["shards_alone_us"]
    lines += [
        "",
        "Each shard alone, one thread: "
        + ", ".join(f"{us:,.0f} µs" for us in alone)
        + f" (sum {sum(alone):,.0f}, max {max(alone):,.0f}).",
    ]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--n-docs", type=int, default=200_000, show_default=True)
@click.option("--n-queries", type=int, default=300, show_default=True)
@click.option("--shards", type=click.IntRange(min=2), default=2, show_default=True)
@click.option("--rounds", type=int, default=3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=ROOT / "reports" / "bench-sharded")
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(out: Path, allow_dirty: bool, **options: Any) -> None:
    """Latency and accuracy@10 of a sharded index against the single index, one query at a time."""
    text = provenance.measure_and_report(
        "benchmarks.sharded", out, allow_dirty, options, measure, markdown
    )
    click.echo(text)


if __name__ == "__main__":
    main()
