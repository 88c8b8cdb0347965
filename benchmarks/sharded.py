"""``make bench-sharded``: one query's latency on sharded indexes against the single index.

All indexes are built by ``lsr index build`` from the same synthetic collection with the same
parameters (the sharded ones with ``--shards N``, each shard keeping its share of
``n_postings``: the shards together keep about the single index's postings). Then, in one
process, queries one at a time (the latency a user sees), interleaved rounds, the fastest round
counting (:func:`lsr.index.timing.fastest`): the single index on one thread, and each sharded
index with a thread per shard (each shard's kernel on one thread, as the single index's), its
shards sharing their k-th scores (:mod:`lsr.index.shared_bound`) and, for the fewest shards,
also without. Every index is timed at each ``query_cut:heap_factor`` setting, accuracy@10
measured against exact search over the collection (a setting ``query_cut:heap_factor:g`` visits
the blocks in the global order, :mod:`lsr.index.block_order`); the report compares the settings
one by one and the fastest setting of each that reaches the target accuracy. Sharded / single latency is
below 1 where the shards' threads run on free cores; on a machine other jobs keep busy, the
shards' threads queue behind them.
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

from benchmarks import exact_reference, provenance
from benchmarks.exact_reference import forward_batches
from benchmarks.index import CACHE, synthetic_files
from lsr.atomic import atomic_path
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


def one_by_one(
    index, queries, doc_ids, positions: dict[str, int], setting: tuple[int, float, bool]
) -> SearchResults:
    """Every query searched alone (``search``, as the service searches) at ``setting``
    (query_cut, heap_factor, global_order), its hits as positions in ``doc_ids`` (the single
    index's order: a shard holds its documents in another), which ``positions`` maps each id
    to. The map is the caller's, made once: built in here it was part of every timed run,
    ~0.15-0.5 s for 1M ids, i.e. 0.5-1.6 ms added to every query's latency, single and sharded
    alike, which pulled their ratio towards 1."""
    docs = np.full((len(queries), K), -1, np.int64)
    scores = np.zeros((len(queries), K), np.float32)
    query_cut, heap_factor, global_order = setting
    for q in range(len(queries)):
        ids, found = index.search(
            *queries.row(q), k=K, query_cut=query_cut, heap_factor=heap_factor,
            global_order=global_order, engine="seismic",
        )  # fmt: skip
        docs[q, : len(ids)] = [positions[i] for i in ids]
        scores[q, : len(ids)] = found
    return SearchResults(queries.ids, docs, scores, doc_ids)


def exact_top_k(single, queries, path: Path) -> SearchResults:
    """Exact search's top-k over the single index's stored weights, a batch of documents at a
    time (:func:`benchmarks.exact_reference.exact_top_k`: at 1M a copy of the collection would
    take 4 GB), kept in ``path`` (the same queries over the same documents give the same
    answer)."""
    if not path.exists():
        docs, scores = exact_reference.exact_top_k(forward_batches(single.forward), queries, K)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, docs=docs, scores=scores)
    kept = np.load(path)
    return SearchResults(queries.ids, kept["docs"], kept["scores"], single.doc_ids)


def configurations(indexes: dict[int, Any], paths: dict[int, Path]) -> list[dict[str, Any]]:
    """What is timed: the single index, and each sharded index with its shards sharing their
    k-th scores (:mod:`index.shared_bound`, the default) and, for the fewest shards, without."""
    found = [{"shards": 1, "shared": False, "index": indexes[1]}]
    for n in sorted(indexes)[1:]:
        if n == sorted(indexes)[1]:
            alone = open_index(paths[n])
            alone.share_bound = False
            found.append({"shards": n, "shared": False, "index": alone})
        found.append({"shards": n, "shared": True, "index": indexes[n]})
    return found


def measure(options: dict[str, Any], cache: Path = CACHE) -> dict[str, Any]:
    cache = Path(options["cache"]) if options.get("cache") else cache
    stem, docs_path, queries_path = synthetic_files(options["n_docs"], 1000, options["seed"], cache)
    queries = read_vectors(queries_path).slice(0, options["n_queries"])
    paths = {n: cache / f"{stem}-sharded-{n}" for n in (1, *options["shards"])}
    for n, path in paths.items():
        build(docs_path, path, n)
    indexes = {n: open_index(path) for n, path in paths.items()}
    single = indexes[1]
    truth = exact_top_k(single, queries, cache / f"{stem}-exact-top{K}-{len(queries)}.npz")
    timed = [(c, s) for s in options["settings"] for c in configurations(indexes, paths)]
    with one_thread():
        ids = list(single.doc_ids)
        positions = {doc_id: i for i, doc_id in enumerate(ids)}
        runs = [
            lambda c=c, s=s: one_by_one(c["index"], queries, ids, positions, s) for c, s in timed
        ]
        # The first pass compiles (or loads) the kernels and maps the pages in; its answers give
        # the accuracy (shards sharing their scores in threads may answer differently per run).
        answers = [run() for run in runs]
        seconds = fastest(runs, options["rounds"])
    rows = [
        {"shards": c["shards"], "shared": c["shared"], "query_cut": s[0], "heap_factor": s[1],
         "global_order": s[2], "latency_us": 1e6 * t / len(queries), "accuracy_at_10": accuracy_at_k(a, truth, K)}
        for (c, s), a, t in zip(timed, answers, seconds)
    ]  # fmt: skip
    postings = {
        n: int(sum(p.nbytes()["postings"] for p in _segments(i))) for n, i in indexes.items()
    }
    return {"dataset": stem, "n_docs": len(single), "n_queries": len(queries), "rows": rows,
            "postings": postings, "target": options["target"]}  # fmt: skip


def best_at_target(rows: list[dict[str, Any]], target: float) -> dict[tuple[int, bool], dict]:
    """Per (shards, shared): the fastest setting whose accuracy@10 reaches ``target``."""
    best: dict[tuple[int, bool], dict] = {}
    for row in rows:
        key = (row["shards"], row["shared"])
        if row["accuracy_at_10"] >= target and (
            key not in best or row["latency_us"] < best[key]["latency_us"]
        ):
            best[key] = row
    return best


def _segments(index):
    return [p.segment for p in index.parts] if hasattr(index, "parts") else [index]


def markdown(payload: dict[str, Any]) -> str:
    result = payload["result"]
    singles = {_setting(r): r for r in result["rows"] if r["shards"] == 1}
    lines = [
        "# Sharded search against the single index",
        "",
        provenance.markdown(payload["provenance"]),
        "",
        f"{result['dataset']}: {result['n_docs']:,} documents, {result['n_queries']} queries "
        f"searched one at a time, top-{K}, the fastest of {payload['options']['rounds']} "
        "interleaved rounds (a thread per shard; the single index on one thread); load average "
        f"before/after: {payload['load_before']} / {payload['load_after']}. Postings bytes: "
        + ", ".join(f"{n} shard(s) {b:,}" for n, b in result["postings"].items())
        + ".",
        "",
        "| shards | shared k-th score | query_cut | heap_factor | µs per query | / single, same "
        "setting | accuracy@10 |",
        "|---:|:---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        base = singles[_setting(row)]["latency_us"]
        lines.append(
            f"| {row['shards']} | {'yes' if row['shared'] else 'no'} | {row['query_cut']} "
            f"| {row['heap_factor']}{_order(row)} | {row['latency_us']:,.0f} | "
            f"{row['latency_us'] / base:.2f}x | {row['accuracy_at_10']:.4f} |"
        )
    best = best_at_target(result["rows"], result["target"])
    lines += ["", f"Fastest setting reaching accuracy@10 >= {result['target']}:", ""]
    if (1, False) not in best:
        return "\n".join([*lines, "the single index reaches it at no setting measured."]) + "\n"
    base = best[(1, False)]["latency_us"]
    lines += ["| shards | shared | setting | µs per query | / single | accuracy@10 |",
              "|---:|:---:|---|---:|---:|---:|"]  # fmt: skip
    for (n, shared), row in sorted(best.items()):
        lines.append(
            f"| {n} | {'yes' if shared else 'no'} | {row['query_cut']}, {row['heap_factor']}"
            f"{_order(row)} "
            f"| {row['latency_us']:,.0f} | {row['latency_us'] / base:.2f}x "
            f"| {row['accuracy_at_10']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def _setting(row: dict[str, Any]) -> tuple[int, float, bool]:
    """A row's setting; reports made before the global order have no ``global_order``."""
    return row["query_cut"], row["heap_factor"], row.get("global_order", False)


def _order(row: dict[str, Any]) -> str:
    return ", global order" if row.get("global_order") else ""


def _counts(_ctx, _param, value: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"comma-separated shard counts, got {value!r}") from None
    if any(n < 2 for n in counts):
        raise click.BadParameter(f"every shard count must be at least 2, got {value!r}")
    return counts


def _settings(_ctx, _param, value: str) -> tuple[tuple[int, float, bool], ...]:
    settings = []
    for text in value.split(","):
        parts = text.split(":")
        try:
            if len(parts) not in (2, 3) or parts[2:] not in ([], ["g"]):
                raise ValueError(text)
            settings.append((int(parts[0]), float(parts[1]), parts[2:] == ["g"]))
        except ValueError:
            raise click.BadParameter(
                f"query_cut:heap_factor[:g] settings (g: the global block order), got {text!r}"
            ) from None
    return tuple(settings)


@click.command()
@click.option("--n-docs", type=int, default=200_000, show_default=True)
@click.option("--n-queries", type=int, default=300, show_default=True)
@click.option(
    "--shards",
    default="2",
    show_default=True,
    callback=_counts,
    help="Shard counts measured beside the single index, comma-separated (2,4).",
)
@click.option(
    "--settings",
    default="10:0.8,10:0.9,5:0.9",
    show_default=True,
    callback=_settings,
    help="query_cut:heap_factor settings every index is timed at; a third part g "
    "(query_cut:heap_factor:g) visits the blocks in the global order (lsr index search "
    "--global-order).",
)
@click.option(
    "--target",
    type=float,
    default=0.95,
    show_default=True,
    help="accuracy@10 at which the fastest settings are compared.",
)
@click.option("--rounds", type=int, default=3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--cache",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Folder of the synthetic collection, the indexes and the exact top-k [default: {CACHE}].",
)
@click.option("--out", type=click.Path(path_type=Path), default=ROOT / "reports" / "bench-sharded")
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(out: Path, allow_dirty: bool, **options: Any) -> None:
    """Latency and accuracy@10 of sharded indexes against the single index, one query at a
    time, at each setting; and at the fastest setting reaching --target."""
    options["cache"] = options["cache"] and str(options["cache"])  # the report is JSON
    text = provenance.measure_and_report(
        "benchmarks.sharded", out, allow_dirty, options, measure, markdown
    )
    click.echo(text)


if __name__ == "__main__":
    main()
