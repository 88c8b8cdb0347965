"""``make bench-index``: our Seismic index against pyseismic-lsr, the official Rust Seismic.

Both systems get the same vectors, the same build parameters and the same queries, and are
measured in the same run, on one thread each (Numba and Rayon both pinned to one thread):

- build time and peak memory, each build in its own process (``benchmarks.build_worker``);
- index bytes on disk, also as a multiple of the forward index (u16 term ids + f16 values);
- accuracy@10 (recall of the exact top-10, Bruch et al., SIGIR 2024, section 5.1) with mean and
  p99 latency per query over a ``query_cut x heap_factor`` sweep, single-query calls
  (our ``search`` against its ``search``, interleaved query by query so that background load
  hits both alike) and batch calls (our ``search_batch`` against its ``batch_search``);
- exact search: our ``ExactIndex`` and scipy's CSR product as references, and our exact search
  again in the sweep, interleaved with the others, as the engine ``auto`` may answer with.

Ratios are ours / peer (below 1: we are faster or smaller). The report starts with the command
that made it. Data: ``synthetic`` (``benchmarks.synthetic``) or any BEIR folder (``scifact``,
``vaswani``, ``cranfield`` or a path) as splade-tiny vectors (``benchmarks.real_vectors``).
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from benchmarks import exact_reference, provenance, report
from benchmarks.build_worker import run_build
from benchmarks.peer_seismic import PeerSeismic, prepare_queries
from lsr.atomic import write_json_atomic
from lsr.errors import InputError
from lsr.vector_io import read_vectors, write_vectors
from lsr.vectors import SparseCollection

if TYPE_CHECKING:  # the index package (and Numba) load when a benchmark first needs them
    from lsr.index.results import SearchResults

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"
SHARED = ROOT.parent / "shared"
K = 10


@dataclass
class BenchData:
    """A collection and its queries, with the Parquet file the build processes read."""

    name: str
    docs: SparseCollection
    queries: SparseCollection
    docs_path: Path


def load_data(name: str, n_docs: int, n_queries: int, seed: int, cache: Path = CACHE) -> BenchData:
    """The named collection: ``synthetic`` is generated, anything else is a BEIR folder (a path,
    or a name under ``../shared/data``: scifact, vaswani, cranfield) encoded with splade-tiny,
    documents as ``title + " " + text`` (BEIR's rule) at the encoder's 256 tokens, queries at 64.
    Both are made once and kept under ``cache``."""
    if name == "synthetic":
        return _synthetic(n_docs, n_queries, seed, cache)
    return _beir(beir_folder(name), n_queries, cache)


def beir_folder(name: str) -> Path:
    """``name`` as a BEIR folder: itself if it is a folder, else ``../shared/data/<name>``."""
    for folder in (Path(name), SHARED / "data" / name):
        if (folder / "corpus.jsonl.gz").is_file() or (folder / "corpus.jsonl").is_file():
            return folder
    raise InputError(
        f"--data {name!r}: neither 'synthetic' nor a BEIR folder with a corpus.jsonl(.gz) "
        f"(looked at {name} and {SHARED / 'data' / name})"
    )


def _beir(folder: Path, n_queries: int, cache: Path) -> BenchData:
    from benchmarks.real_vectors import load_encoded

    model_dir = SHARED / "models" / "splade-tiny"
    docs, queries = load_encoded(folder, model_dir, cache)
    docs_path = cache / f"{folder.name}-{model_dir.name}-docs.parquet"
    return BenchData(folder.name, docs, queries.slice(0, n_queries), docs_path)


def synthetic_files(
    n_docs: int, n_queries: int, seed: int, cache: Path = CACHE
) -> tuple[str, Path, Path]:
    """Name, documents file and queries file of a synthetic collection under ``cache``,
    generated if missing (and then not kept in memory: a caller may only need the files)."""
    from benchmarks.synthetic import SyntheticConfig, generate

    config = SyntheticConfig(seed=seed)
    stem = f"synthetic-{n_docs}-{n_queries}-{config.fingerprint()}"
    docs_path, queries_path = cache / f"{stem}-docs.parquet", cache / f"{stem}-queries.parquet"
    if not docs_path.exists() and (larger := _larger_draw(cache, n_docs, n_queries, config)):
        # The generator draws documents before queries, so a draw with more queries holds the
        # same documents: its first queries save generating (and storing) the collection again.
        if not queries_path.exists():
            write_vectors(queries_path, read_vectors(larger[1]).slice(0, n_queries))
        return stem, larger[0], queries_path
    if not docs_path.exists() or not queries_path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        docs, queries = generate(n_docs, n_queries, config, progress=True)
        write_vectors(queries_path, queries)
        write_vectors(docs_path, docs)
    return stem, docs_path, queries_path


def _larger_draw(cache: Path, n_docs: int, n_queries: int, config) -> tuple[Path, Path] | None:
    """Documents and queries files of a cached draw of the same ``n_docs`` documents with more
    than ``n_queries`` queries (the fewest such), if any."""
    fingerprint = config.fingerprint()
    found = []
    for docs in cache.glob(f"synthetic-{n_docs}-*-{fingerprint}-docs.parquet"):
        count = docs.name.split("-")[2]
        queries = docs.with_name(docs.name.replace("-docs.parquet", "-queries.parquet"))
        if count.isdigit() and int(count) > n_queries and queries.exists():
            found.append((int(count), docs, queries))
    return min(found)[1:] if found else None


def _synthetic(n_docs: int, n_queries: int, seed: int, cache: Path) -> BenchData:
    stem, docs_path, queries_path = synthetic_files(n_docs, n_queries, seed, cache)
    return BenchData(stem, read_vectors(docs_path), read_vectors(queries_path), docs_path)


def result_ids(results: SearchResults) -> list[list[str]]:
    """Each query's document ids of our :class:`~index.results.SearchResults`, padding left out:
    the layout in which accuracy is measured against the truth and the peer's answers come."""
    return [[results.doc_ids[d] for d in row if d >= 0] for row in results.docs]


# -- the two systems behind one interface ---------------------------------------------------------


class Ours:
    """Our SeismicIndex, opened from its saved directory (memory-mapped, as users open it)."""

    def __init__(self, path: Path, queries: SparseCollection, first_sorted: bool) -> None:
        from lsr.index import SeismicIndex

        self.index = SeismicIndex.load(path, mmap=True)
        self.queries = queries
        self.rows = [queries.row(i) for i in range(len(queries))]
        self.first_sorted = first_sorted

    def search(self, i: int, query_cut: int, heap_factor: float) -> list[str]:
        term_ids, weights = self.rows[i]
        ids, _ = self.index.search(
            term_ids, weights, K, query_cut, heap_factor, first_sorted=self.first_sorted
        )
        return ids

    def batch(self, query_cut: int, heap_factor: float):
        return self.index.search_batch(
            self.queries, K, query_cut, heap_factor, first_sorted=self.first_sorted
        )

    def batch_ids(self, results) -> list[list[str]]:
        return result_ids(results)

    def nbytes(self) -> dict[str, int]:
        return self.index.nbytes()


class Peer:
    """pyseismic-lsr's SeismicIndex, loaded from its saved file."""

    def __init__(self, path: Path, queries: SparseCollection, first_sorted: bool) -> None:
        self.index = PeerSeismic.load(path)
        self.queries = prepare_queries(queries)
        self.first_sorted = first_sorted

    def search(self, i: int, query_cut: int, heap_factor: float) -> list[str]:
        return self.index.search(self.queries, i, K, query_cut, heap_factor, self.first_sorted)

    def batch(self, query_cut: int, heap_factor: float):
        return self.index.batch_search(self.queries, K, query_cut, heap_factor, self.first_sorted)

    def batch_ids(self, results) -> list[list[str]]:
        return results

    def nbytes(self) -> dict[str, int]:
        return {}


class OursExact:
    """Our exact search over the same documents (:class:`~index.exact.ExactIndex`), which an
    index set to ``engine="auto"`` answers with where it is timed faster: measured at every
    sweep point (it takes neither parameter), interleaved query by query with the others."""

    def __init__(self, docs: SparseCollection, queries: SparseCollection) -> None:
        from lsr.index import ExactIndex

        self.index = ExactIndex(docs)
        self.queries = queries
        self.rows = [queries.row(i) for i in range(len(queries))]

    def search(self, i: int, query_cut: int, heap_factor: float) -> list[str]:
        ids, _ = self.index.search(*self.rows[i], K)
        return ids

    def batch(self, query_cut: int, heap_factor: float):
        return self.index.search_batch(self.queries, K)

    def batch_ids(self, results) -> list[list[str]]:
        return result_ids(results)


SYSTEMS = {"ours": Ours, "peer": Peer}


@dataclass
class SystemSpec:
    """One index to build and measure: a label, which implementation, its build parameters."""

    label: str
    kind: str
    params: dict[str, Any]
    build: dict[str, Any] = field(default_factory=dict)


# -- measurements ---------------------------------------------------------------------------------


def recall(found: list[list[str]], truth: list[set[str]]) -> float:
    """Mean over queries of |found ∩ exact top-k| / |exact top-k| (queries with no match skipped)."""
    shares = [len(truth[i].intersection(ids)) / len(truth[i]) for i, ids in enumerate(found)
              if truth[i]]  # fmt: skip
    return float(np.mean(shares)) if shares else 1.0


def latency_stats(seconds: np.ndarray) -> dict[str, float]:
    micros = seconds * 1e6
    return {"mean_us": float(micros.mean()), "p99_us": float(np.percentile(micros, 99))}


def sweep_point(systems: dict, truth, query_cut: int, heap_factor: float, repeats: int) -> dict:
    """All systems at one (query_cut, heap_factor): single-query and batch latency, recall."""
    labels = list(systems)
    n = len(truth)
    seconds = {label: np.empty(n) for label in labels}
    found = {label: [] for label in labels}
    gc.disable()
    try:
        for i in range(n):
            for label in labels if i % 2 == 0 else labels[::-1]:
                start = time.perf_counter()
                ids = systems[label].search(i, query_cut, heap_factor)
                seconds[label][i] = time.perf_counter() - start
                found[label].append(ids)
        batch_seconds = {label: np.inf for label in labels}
        batch_found = {}
        for r in range(repeats):
            for label in labels if r % 2 == 0 else labels[::-1]:
                start = time.perf_counter()
                results = systems[label].batch(query_cut, heap_factor)
                batch_seconds[label] = min(batch_seconds[label], time.perf_counter() - start)
                batch_found[label] = results
    finally:
        gc.enable()
    point = {"query_cut": query_cut, "heap_factor": heap_factor}
    for label in labels:
        batch_ids = systems[label].batch_ids(batch_found[label])
        point[label] = {
            "recall": recall(found[label], truth),
            **latency_stats(seconds[label]),
            "batch_recall": recall(batch_ids, truth),
            "batch_mean_us": batch_seconds[label] / n * 1e6,
        }
    return point


def exact_latencies(data: BenchData, n_queries: int) -> dict[str, Any]:
    """Exact search per query: scipy CSR product and our ExactIndex (single and batch), 1 thread."""
    from lsr.index import ExactIndex

    subset = data.queries.slice(0, n_queries)
    csr = exact_reference.csr_latencies(data.docs, subset, K)
    exact = ExactIndex(data.docs)
    rows = [subset.row(i) for i in range(len(subset))]
    exact.search(*rows[0], k=K)  # compile (or load) both kernels outside the timing
    exact.search_batch(subset.slice(0, 1), k=K)
    ours = np.empty(len(rows))
    for i, (term_ids, weights) in enumerate(rows):
        start = time.perf_counter()
        exact.search(term_ids, weights, k=K)
        ours[i] = time.perf_counter() - start
    start = time.perf_counter()
    exact.search_batch(subset, k=K)
    batch = time.perf_counter() - start
    return {
        "queries": len(rows),
        "scipy_csr": latency_stats(csr),
        "exact_index": latency_stats(ours),
        "exact_index_batch_mean_us": batch / len(rows) * 1e6,
    }


def exact_agreement(data: BenchData, truth: list[set[str]], n_queries: int) -> float:
    """Recall of our ExactIndex against scipy's top-10: 1.0 unless ties or rounding differ."""
    from lsr.index import ExactIndex

    results = ExactIndex(data.docs).search_batch(data.queries.slice(0, n_queries), k=K)
    return recall(result_ids(results), truth[:n_queries])


@contextmanager
def documents_released(data: BenchData) -> Iterator[None]:
    """Drop ``data.docs`` while the builds run and read them back from ``docs_path`` after.

    The builds run in their own processes from the Parquet file; at 1M documents the copy this
    process holds (~3 GB) beside the peer's build (~13 GB) is what pushes the machine out of
    memory.
    """
    data.docs = None
    gc.collect()
    try:
        yield
    finally:
        data.docs = read_vectors(data.docs_path)


def bench_dataset(data: BenchData, options: dict[str, Any], work: Path) -> dict[str, Any]:
    click.echo(f"== {data.name}: {len(data.docs):,} documents, {len(data.queries):,} queries")
    truth = _truth(data)
    stats = report.data_stats(data.docs, data.queries)
    specs = _specs(options)
    work.mkdir(parents=True, exist_ok=True)
    with documents_released(data):
        for spec in specs:
            click.echo(f"building {spec.label} ({spec.kind}) {spec.params}")
            spec.build = run_build(spec.kind, data.docs_path, spec.params, work / spec.label)
            click.echo(
                f"  {spec.build['build_s']:.1f} s, {spec.build['index_bytes'] / 2**20:.1f} MiB"
            )
    n_exact = min(options["exact_queries"], len(data.queries))
    exact = exact_latencies(data, n_exact)
    exact["agreement_with_scipy"] = exact_agreement(data, truth, n_exact)
    gc.collect()
    systems = {s.label: SYSTEMS[s.kind](Path(s.build["path"]), data.queries,
                                        options["first_sorted"]) for s in specs}  # fmt: skip
    for spec in specs:
        spec.build["nbytes"] = systems[spec.label].nbytes()
    systems[report.EXACT] = OursExact(data.docs, data.queries)
    sweep_point(systems, truth, options["query_cuts"][0], options["heap_factors"][0], 1)  # warm-up
    points = []
    for query_cut in options["query_cuts"]:
        for heap_factor in options["heap_factors"]:
            point = sweep_point(systems, truth, query_cut, heap_factor, options["repeats"])
            click.echo(report.point_line(point, list(systems)))
            points.append(point)
    return collection_result(data.name, stats, specs, exact, points)


def collection_result(
    name: str, stats: dict[str, Any], specs: list[Any], exact: dict[str, Any], points: list[Any]
) -> dict[str, Any]:
    """One collection's measurements and ratios, as saved in the JSON report and rendered."""
    built = [
        {"label": s.label, "kind": s.kind, "params": s.params, "build": s.build} for s in specs
    ]
    return {
        "data": name,
        "stats": stats,
        "systems": built,
        "exact": exact,
        "sweep": points,
        "summary": report.summary(points, built, exact, stats),
    }


def _truth(data: BenchData) -> list[set[str]]:
    path = CACHE / f"truth-{data.name}-{len(data.queries)}.json"
    if path.exists():
        return [set(ids) for ids in json.loads(path.read_text())]
    positions = exact_reference.ground_truth(data.docs, data.queries, K)
    ids = [[data.docs.ids[p] for p in row] for row in positions]
    write_json_atomic(path, ids, indent=None)
    return [set(row) for row in ids]


def _specs(options: dict[str, Any]) -> list[SystemSpec]:
    params = {name: options[name] for name in
              ("n_postings", "centroid_fraction", "min_cluster_size", "summary_energy",
               "max_fraction", "doc_cut")}  # fmt: skip
    specs = [SystemSpec("pyseismic-lsr", "peer", params), SystemSpec("lsr", "ours", params)]
    if options["compact"]:
        from lsr.index.config import COMPACT

        specs.append(SystemSpec("lsr-compact", "ours", params | COMPACT))
    return specs


def _pin_one_thread() -> None:
    """One thread for both systems, set when the benchmark runs (never at import): Numba's pool
    through its API, Rayon's through the variable it reads when its pool first starts."""
    import numba

    numba.set_num_threads(1)
    os.environ["RAYON_NUM_THREADS"] = "1"


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data",
    "datasets",
    multiple=True,
    help="Collections to measure (repeatable): synthetic, or a BEIR folder encoded with "
    "splade-tiny, named (scifact, vaswani, cranfield: ../shared/data) or given as a path to a "
    "folder of your own (corpus.jsonl(.gz), queries, qrels/test.tsv). Default: scifact and "
    "synthetic.",
)
@click.option("--n-docs", default=1_000_000, show_default=True, help="Synthetic collection size.")
@click.option(
    "--n-queries",
    default=1000,
    show_default=True,
    help="Queries per collection at most (test queries: scifact 300, vaswani 93, cranfield 225).",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic generator.")
@click.option(
    "--query-cut",
    "query_cuts",
    default="3,5,10,20",
    show_default=True,
    callback=lambda c, p, v: _ints(v),
    help="query_cut values of the sweep.",
)
@click.option(
    "--heap-factor",
    "heap_factors",
    default="0.7,0.8,0.9,1.0",
    show_default=True,
    callback=lambda c, p, v: _floats(v),
    help="heap_factor values of the sweep.",
)
@click.option(
    "--first-sorted/--no-first-sorted",
    default=False,
    show_default=True,
    help="Visit the first list's blocks best-first (the peer's `sorted`).",
)
@click.option("--n-postings", default=3500, show_default=True)
@click.option("--centroid-fraction", default=0.1, show_default=True)
@click.option("--min-cluster-size", default=2, show_default=True)
@click.option("--summary-energy", default=0.4, show_default=True)
@click.option("--max-fraction", default=1.5, show_default=True)
@click.option("--doc-cut", default=15, show_default=True)
@click.option(
    "--compact/--no-compact",
    default=True,
    show_default=True,
    help="Also build ours with the compact preset, index.config.COMPACT (label lsr-compact).",
)
@click.option(
    "--exact-queries",
    default=100,
    show_default=True,
    help="Queries timed for exact search (a 1M-document CSR product is slow).",
)
@click.option(
    "--repeats",
    default=3,
    show_default=True,
    help="Batch calls per sweep point; the fastest counts.",
)
@click.option(
    "--quick",
    is_flag=True,
    help="Smaller run: scifact and 50,000 synthetic documents, 300 queries.",
)
@click.option(
    "--out",
    default="reports/bench-index",
    show_default=True,
    help="Report path without suffix: writes OUT.json and OUT.md.",
)
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(allow_dirty: bool, **options: Any) -> None:
    """Benchmark our Seismic index against pyseismic-lsr (same data, parameters, one thread)."""
    origin = provenance.record(provenance.command_line("benchmarks.index"), allow_dirty)
    _pin_one_thread()
    if options["quick"]:
        options["n_docs"] = min(options["n_docs"], 50_000)
        options["n_queries"] = min(options["n_queries"], 300)
    datasets = options["datasets"] or ("scifact", "synthetic")
    CACHE.mkdir(parents=True, exist_ok=True)
    work = CACHE / "indexes"
    started = time.perf_counter()
    payload = {
        "provenance": origin,
        "options": {k: v for k, v in options.items() if k != "datasets"} | {"datasets": datasets},
        "results": [],
    }
    out = Path(options["out"])
    for name in datasets:
        data = load_data(name, options["n_docs"], options["n_queries"], options["seed"])
        payload["results"].append(bench_dataset(data, options, work / data.name))
        del data
        gc.collect()
        # Written after every collection, so that a long run interrupted later keeps its results.
        payload["seconds"] = time.perf_counter() - started
        text = provenance.save_report(out, payload, report.markdown(payload))
    click.echo(text)


if __name__ == "__main__":
    provenance.run_main(main)
