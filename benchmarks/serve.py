"""``make bench-serve``: ``lsr serve`` under a real HTTP load generator, against the same search
run in process.

A real server (``lsr.service.process``, uvicorn on 127.0.0.1) is loaded by ``wrk`` (Debian's
package, ``make install-browser``) in another process, with ``benchmarks/serve.lua`` POSTing
``/search`` bodies; every run is bounded in time (``--duration``) and in count
(``--max-requests``). Three workloads:

(a) ``synthetic``: a Seismic index of synthetic SPLADE-like documents (``benchmarks.synthetic``)
    served with ``--no-model``, queried with raw vectors: the service's own cost over search;
(b) ``bm25``: BM25 over SciFact, text queries (SciFact's test queries);
(c) ``splade``: splade-tiny over SciFact, text queries (encoding is the floor under each one).

For each: QPS, p50 and p99 latency at 1, 8 and 32 clients, errors (non-2xx answers and socket
errors), memory as PSS of the server's processes (their shared memory-mapped index counted once
across ``--workers``), CPU and page faults per request, and the HTTP overhead: p50 over HTTP at
one client minus p50 of the same search (and encoding) called in process, as the median of
rounds alternating the two (:func:`overhead_rounds`). (a) also reports the accuracy@10 of the
settings it serves (``--query-cut`` / ``--heap-factor``, default the index's own).
``--soak SECONDS`` also loads (a) at 8 clients for that long, sampling PSS, and reports its
slope.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np
from lsr.index.config import BuildConfig
from lsr.index.open import open_index
from lsr.service.process import ServiceProcess

from benchmarks import provenance
from benchmarks.index import synthetic_files
from lsr.atomic import write_directory_atomic, write_text_atomic
from lsr.errors import IndexFormatError
from lsr.threads import use_torch_threads
from lsr.vector_io import read_vectors

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"
SHARED = ROOT.parent / "shared"
LUA = Path(__file__).with_name("serve.lua")
K = 10


@dataclass
class Workload:
    """An index, how to serve it, the request bodies, and the same work in process."""

    name: str
    index_dir: Path
    serve_options: tuple[str, ...]
    bodies: list[str]
    #: Runs request ``i``'s encoding and search in this process.
    in_process: Callable[[int], object]
    #: The search parameters every request is served with (``query_cut``, ``heap_factor``).
    settings: dict[str, Any] | None = None
    #: accuracy@10 of those settings against exact search (:func:`served_accuracy`).
    accuracy: dict[str, Any] | None = None
    #: The served index's build parameters (:data:`BUILD`), which set its cost at an accuracy
    #: as much as the search parameters do.
    build: dict[str, Any] | None = None


def synthetic(
    n_docs: int,
    n_queries: int,
    cache: Path = CACHE,
    query_cut: int | None = None,
    heap_factor: float | None = None,
    index_dir: Path | None = None,
    in_memory: bool = False,
    centroid_fraction: float | None = None,
    tune_accuracy: float | None = None,
) -> Workload:
    """Workload (a); its vectors and index are made once and kept under ``cache`` (a 1M build
    takes ~12 GB at its peak: make it once, outside the repository, and reuse it). Requests
    carry ``query_cut`` / ``heap_factor`` where given, else the index's stored defaults serve.
    ``centroid_fraction`` (default the build's) and ``tune_accuracy`` (``lsr index tune``'s
    target, on the workload's own queries) make and cache another index (:func:`index_name`).
    ``index_dir``: another index of the same documents, made by hand (e.g. ``lsr index build``
    and ``lsr index tune`` with other parameters) and served as it is.
    ``in_memory``: served with ``lsr serve --in-memory`` and searched in process from memory too."""
    stem, docs_path, queries_path = synthetic_files(n_docs, n_queries, seed=0, cache=cache)
    if index_dir is None:
        index_dir = cache / index_name(stem, centroid_fraction, tune_accuracy)
        config = (
            None if centroid_fraction is None else BuildConfig(centroid_fraction=centroid_fraction)
        )
        tuning = None if tune_accuracy is None else (queries_path, tune_accuracy)
        cached_index(docs_path, index_dir, config, tuning)  # built once, if missing
    index = open_index(index_dir, mmap=not in_memory)
    # Only the queries in memory: the documents are in the index (1M: ~4 GB as vectors).
    queries = read_vectors(queries_path)
    rows = [queries.row(i) for i in range(len(queries))]
    given = {"query_cut": query_cut, "heap_factor": heap_factor}
    given = {name: value for name, value in given.items() if value is not None}
    bodies = [
        json.dumps({"vector": {"indices": t.tolist(), "values": w.tolist()}, "k": K, **given})
        for t, w in rows
    ]
    params = index.search_defaults.params_for(False, K, **given)
    settings = {name: getattr(params, name) for name in SETTINGS}
    return Workload(
        f"(a) synthetic {n_docs:,} docs, raw vectors{', index in memory' if in_memory else ''}",
        index_dir,
        ("--no-model", "--in-memory") if in_memory else ("--no-model",),
        bodies,
        lambda i: index.search(*rows[i], k=K, **given),
        settings,
        served_accuracy(index, queries, settings, cache / stem),
        build_parameters(index),
    )


#: The search parameters a report names for the settings served.
SETTINGS = ("query_cut", "heap_factor", "first_sorted", "global_order")

#: The build parameters a report names for the index served (``lsr index build``'s options).
BUILD = ("n_postings", "centroid_fraction", "summary_energy")


def build_parameters(index) -> dict[str, Any] | None:
    """:data:`BUILD` of a Seismic index's build config (``None`` for an index without one)."""
    config = getattr(index, "config", None)
    return None if config is None else {name: getattr(config, name) for name in BUILD}


#: Queries of (a) whose exact top-10 is computed (and cached) to report the served accuracy.
ACCURACY_QUERIES = 300


def served_accuracy(index, queries, settings: dict[str, Any], stem: Path) -> dict[str, Any]:
    """accuracy@10 (:mod:`index.accuracy`) of ``settings`` on the first
    :data:`ACCURACY_QUERIES` queries against their exact top-10 over the index's own stored
    weights, cached beside the index as ``benchmarks.sharded`` caches it (the same file)."""
    from lsr.index.accuracy import accuracy_at_k

    from benchmarks.sharded import exact_top_k

    sample = queries.slice(0, min(ACCURACY_QUERIES, len(queries)))
    truth = exact_top_k(index, sample, Path(f"{stem}-exact-top{K}-{len(sample)}.npz"))
    found = index.search_batch(sample, k=K, engine="seismic", **settings)
    return {"accuracy_at_10": accuracy_at_k(found, truth, K), "n_queries": len(sample)}


def index_name(stem: str, centroid_fraction: float | None, tune_accuracy: float | None) -> str:
    """The cache's folder name of (a)'s index: the build and tuning that made it, where not the
    defaults (``STEM.index``, ``STEM-cf0.3-tuned0.95.index``)."""
    parts = [stem]
    if centroid_fraction is not None:
        parts.append(f"cf{centroid_fraction:g}")
    if tune_accuracy is not None:
        parts.append(f"tuned{tune_accuracy:g}")
    return "-".join(parts) + ".index"


def cached_index(
    docs_path: Path,
    index_dir: Path,
    config: BuildConfig | None = None,
    tuning: tuple[Path, float] | None = None,
) -> Any:
    """The Seismic index saved at ``index_dir``, built from ``docs_path`` (with ``config``) when
    there is none, or rebuilt when the saved one is of a format this lsr no longer reads (a cache
    kept across format changes would otherwise stop every later run at the server's start).

    ``tuning``, (queries file, target accuracy): the new index is tuned as ``lsr index tune``
    does before it takes its place. It is built (and tuned) under a temporary name and swapped in
    whole (:func:`lsr.atomic.write_directory_atomic`), so a cached index is complete, tuned where
    asked, or absent."""
    from lsr.index import SeismicIndex

    if index_dir.exists():
        try:
            return SeismicIndex.load(index_dir)
        except IndexFormatError as exc:
            click.echo(f"{exc}: rebuilding {index_dir}", err=True)

    def build_and_tune(folder: Path) -> None:
        SeismicIndex.build(read_vectors(docs_path), config, progress=True).save(folder)
        if tuning is not None:
            tune_in_place(folder, *tuning)

    write_directory_atomic(index_dir, build_and_tune)
    return SeismicIndex.load(index_dir)


def tune_in_place(index_dir: Path, queries_path: Path, target: float) -> None:
    """Store the fastest search parameters reaching ``target`` as ``index_dir``'s defaults
    (:func:`index.tuning.tune` and :func:`~index.tuning.store`, what ``lsr index tune`` runs)."""
    from lsr.index import SeismicIndex
    from lsr.index.tuning import store, tune

    index = SeismicIndex.load(index_dir)
    result = tune(index, read_vectors(queries_path), target)
    if result.choice is None:
        raise click.ClickException(f"{index_dir}: no search setting reaches accuracy {target}")
    store(index_dir, result, index.search_defaults)


def _scifact_text(name: str, index_dir: Path, encoder, options: tuple[str, ...]) -> Workload:
    from lsr.index import SeismicIndex

    from lsr.datasets import load_dataset

    index = SeismicIndex.load(index_dir)
    texts = list(load_dataset(SHARED / "data" / "scifact").queries("test").values())

    def in_process(i: int) -> object:
        vector = encoder.encode_queries([texts[i]])
        return index.search(vector.indices, vector.values, k=K)

    bodies = [json.dumps({"query": text, "k": K}) for text in texts]
    return Workload(name, index_dir, options, bodies, in_process)


def bm25() -> Workload:
    from lsr.index import SeismicIndex

    from lsr.datasets import load_dataset
    from lsr.docstore import write_docstore
    from lsr.encoders import Bm25Encoder

    model_dir, index_dir = CACHE / "bm25-scifact", CACHE / "bm25-scifact.index"
    if not index_dir.exists():
        documents = list(load_dataset(SHARED / "data" / "scifact").docs())
        texts = [d.full_text for d in documents]
        encoder = Bm25Encoder.fit(texts)
        encoder.save(model_dir)
        vectors = encoder.encode_documents(texts, [d.id for d in documents], progress=True)
        SeismicIndex.build(vectors).save(index_dir)
        write_docstore(index_dir, documents)
    encoder = Bm25Encoder.load(model_dir)
    return _scifact_text(
        "(b) BM25 on SciFact, text", index_dir, encoder, ("--model", str(model_dir))
    )


def splade() -> Workload:
    from lsr.index import SeismicIndex

    from lsr.datasets import load_dataset
    from lsr.docstore import write_docstore
    from lsr.encoders import load
    from lsr.encoding import encode_to_parquet

    data_dir, model_dir = SHARED / "data" / "scifact", SHARED / "models" / "splade-tiny"
    docs_path = CACHE / "scifact-splade-tiny-docs.parquet"  # what benchmarks.real_vectors caches
    index_dir = CACHE / "scifact-splade-tiny.index"
    encoder = load(str(model_dir))
    if not index_dir.exists():
        documents = list(load_dataset(data_dir).docs())
        if not docs_path.exists():
            encode_to_parquet(encoder, ((d.id, d.full_text) for d in documents), docs_path)
        SeismicIndex.build(read_vectors(docs_path)).save(index_dir)
        write_docstore(index_dir, documents)
    return _scifact_text(
        "(c) splade-tiny on SciFact, text", index_dir, encoder, ("--model", str(model_dir))
    )


# -- measurements ------------------------------------------------------------------------------


def in_process_latency(workload: Workload, seconds: float) -> dict[str, Any]:
    """p50 / p99 ms of the workload's requests run one at a time in this process, and the
    latencies that these times alone allow at 8 clients (:func:`queueing_floor`)."""
    for i in range(min(20, len(workload.bodies))):
        workload.in_process(i)
    times, deadline, i = [], time.monotonic() + seconds, 0
    while time.monotonic() < deadline or len(times) < 50:
        start = time.perf_counter()
        workload.in_process(i % len(workload.bodies))
        times.append(time.perf_counter() - start)
        i += 1
    ms = 1000 * np.asarray(times)
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "floor_8_clients": queueing_floor(ms, clients=8, servers=os.cpu_count() or 1),
    }


def queueing_floor(
    service_ms: np.ndarray, clients: int, servers: int, requests: int = 50_000, seed: int = 0
) -> dict[str, float]:
    """p50 / p99 latency (ms) of ``clients`` closed-loop clients (each sends its next request
    when the last one is answered, as wrk does) served first come, first served by ``servers``
    threads whose service times are drawn from ``service_ms``, with nothing else on the cores.

    The server's search pool is that queue (one thread per core, :mod:`service.workers`), so
    this is the latency the search itself allows, before HTTP, JSON, the event loop and the
    load generator take their share of the cores: by Little's law the mean is
    ``clients / servers`` service times, and the p99 adds the spread of their sum.
    """
    rng = np.random.default_rng(seed)
    draws = rng.choice(np.asarray(service_ms, dtype=float), size=requests)
    arrivals = [0.0] * clients  # each client's pending request, first come first served
    free = [0.0] * servers  # when each server is next free
    latencies = np.empty(requests)
    for n, service in enumerate(draws):
        arrival = heapq.heappop(arrivals)
        start = max(arrival, heapq.heappop(free))
        finish = start + service
        latencies[n] = finish - arrival
        heapq.heappush(free, finish)
        heapq.heappush(arrivals, finish)
    steady = latencies[requests // 10 :]
    return {"p50_ms": float(np.percentile(steady, 50)), "p99_ms": float(np.percentile(steady, 99))}


def run_wrk(url: str, bodies: Path, clients: int, duration: float, max_requests: int) -> dict:
    """One bounded wrk run: its summary (requests, latency percentiles, errors) and QPS."""
    threads = min(clients, 2)
    command = [
        "wrk", f"-t{threads}", f"-c{clients}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
        "-s", str(LUA), url, "--", str(bodies), str(max(1, max_requests // threads)),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    seconds = result["duration_us"] / 1e6
    return {
        "clients": clients,
        "requests": result["requests"],
        "qps": result["requests"] / seconds,
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "errors": result["non_2xx"] + result["socket_errors"],
    }


def pss_mib(pid: int) -> float:
    """PSS of a process and its descendants (shared pages divided among their users)."""
    total_kb = 0
    for process in [pid, *_descendants(pid)]:
        try:
            text = Path(f"/proc/{process}/smaps_rollup").read_text()
        except OSError:
            continue
        total_kb += int(re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE).group(1))
    return total_kb / 1024


#: Counters of a thread, per request in a report: on-CPU seconds (the scheduler's nanosecond
#: count), the part of them in the kernel (clock ticks of ``stat``) and minor page faults (a
#: memory-mapped index's page touched for the first time by this process: mapped, not read).
COUNTERS = ("cpu_s", "system_s", "minor_faults")


def cpu_seconds(pid: int) -> dict[str, dict[str, float]]:
    """:data:`COUNTERS` so far of the server's event loops (the main thread of each of its
    processes) and of its other threads (the search and encoding pools), from /proc. A
    difference over a run divided by its requests is what a request costs each, a figure that
    other users' load disturbs far less than latency."""
    totals = {part: dict.fromkeys(COUNTERS, 0.0) for part in ("event_loop", "pools")}
    tick = os.sysconf("SC_CLK_TCK")
    for process in [pid, *_descendants(pid)]:
        for task in Path(f"/proc/{process}/task").glob("*"):
            try:
                on_cpu_ns = int((task / "schedstat").read_text().split()[0])
                stat = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # stat's fields from the state on (man 5 proc): minflt is field 10, stime 15.
            counters = totals["event_loop" if int(task.name) == process else "pools"]
            counters["cpu_s"] += on_cpu_ns / 1e9
            counters["system_s"] += int(stat[12]) / tick
            counters["minor_faults"] += int(stat[7])
    return totals


def per_request(before: dict, after: dict, requests: int) -> dict[str, dict[str, float]]:
    """CPU milliseconds (and their kernel part) and minor faults per request of each part."""
    scale = {"cpu_s": 1000, "system_s": 1000, "minor_faults": 1}
    names = {"cpu_s": "cpu_ms", "system_s": "system_ms", "minor_faults": "minor_faults"}
    return {
        part: {
            names[c]: scale[c] * (after[part][c] - before[part][c]) / max(requests, 1)
            for c in COUNTERS
        }
        for part in after
    }


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def measure(workload: Workload, workers: int, options: dict[str, Any], work: Path) -> dict:
    """Start the server, load it at each client count, stop it."""
    bodies = work / "bodies.jsonl"
    write_text_atomic(bodies, "\n".join(workload.bodies) + "\n")
    serve = (*workload.serve_options, "--workers", str(workers))
    runs = []
    log = work / f"server-{workers}.log"
    with ServiceProcess(workload.index_dir, *serve, log_path=log) as server:
        _wait_workers_ready(server, workers)
        idle = pss_mib(server.process.pid)
        # A pass over every query by each of wrk's threads (at most --warmup seconds), not
        # recorded: the first run would otherwise pay for mapping in the index's pages. Each
        # thread starts at its own line, so one pass shared by two left 42% of the queries
        # cold, and the 1-client run after it paid 11 page faults a request (1M index).
        warm = run_wrk(server.url, bodies, 8, options["warmup"], 2 * len(workload.bodies))
        for clients in options["clients"]:
            # The machine is shared: each run says how busy it was (1-minute load average).
            load_before, cpu_before = os.getloadavg()[0], cpu_seconds(server.process.pid)
            run = run_wrk(server.url, bodies, clients, options["duration"], options["max_requests"])
            run["load"] = [load_before, os.getloadavg()[0]]
            cpu_after = cpu_seconds(server.process.pid)
            run["per_request"] = per_request(cpu_before, cpu_after, run["requests"])
            run["pss_mib"] = pss_mib(server.process.pid)
            runs.append(run)
            click.echo(f"  {workload.name}, {workers} worker(s): {_row(run)}", err=True)
        rounds = options["overhead_rounds"]
        overhead = overhead_rounds(workload, server.url, work, rounds) if rounds else None
    return {
        "workers": workers, "idle_pss_mib": idle, "warmup_requests": warm["requests"],
        "runs": runs, "overhead": overhead,
    }  # fmt: skip


#: Queries of each round of :func:`overhead_rounds`, and seconds of wrk per round.
ROUND_QUERIES = 50
ROUND_SECONDS = 1.0


def overhead_rounds(workload: Workload, url: str, work: Path, rounds: int) -> dict[str, Any]:
    """The HTTP overhead at one client, as ``rounds`` (at least one) alternating the two sides on the same queries.

    Each round takes :data:`ROUND_QUERIES` queries (the next ones each round), runs them over
    HTTP (wrk, one connection, cycling them for :data:`ROUND_SECONDS`) and in this process
    (each once), which first in alternate rounds, and takes the difference of the two p50s.
    The machine drifts by more than the 1 ms target between runs a minute apart (two runs of
    the old single comparison read 2.78 and 0.08 ms), but little within a round of ~2 s, so the
    median of the rounds' differences, with its spread, is the figure that means something.
    The rounds' queries are each searched once in this process before the first round (the
    server's were by its warm-up), so that neither side pays for mapping the index in."""
    picks = [[(r * ROUND_QUERIES + j) % len(workload.bodies) for j in range(ROUND_QUERIES)]
             for r in range(rounds)]  # fmt: skip
    for i in sorted({i for round_picks in picks for i in round_picks}):
        workload.in_process(i)
    bodies, found = work / "round.jsonl", []
    for r, round_picks in enumerate(picks):
        write_text_atomic(bodies, "\n".join(workload.bodies[i] for i in round_picks) + "\n")
        p50 = {}
        for side in ("http", "in_process") if r % 2 == 0 else ("in_process", "http"):
            if side == "http":
                p50[side] = run_wrk(url, bodies, 1, ROUND_SECONDS, 10**9)["p50_ms"]
            else:
                p50[side] = _p50_in_process(workload, round_picks)
        found.append({**p50, "difference": p50["http"] - p50["in_process"]})
    differences = np.array([f["difference"] for f in found])
    q1, median, q3 = np.percentile(differences, [25, 50, 75])
    return {
        "rounds": found, "median_ms": float(median), "q1_ms": float(q1), "q3_ms": float(q3),
        "min_ms": float(differences.min()), "max_ms": float(differences.max()),
    }  # fmt: skip


def _p50_in_process(workload: Workload, picks: list[int]) -> float:
    times = []
    for i in picks:
        start = time.perf_counter()
        workload.in_process(i)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _wait_workers_ready(server: ServiceProcess, workers: int) -> None:
    """Every worker process loads the index by itself: wait until each has said so."""
    deadline = time.monotonic() + 300
    while server.log().count("serving ") < workers + 1 and time.monotonic() < deadline:
        time.sleep(0.5)


#: Seconds of a soak left out of its slope: the index's pages are mapped in (and counted in PSS)
#: as the first queries touch them, which is not growth.
SOAK_WARMUP_S = 60.0


def soak(workload: Workload, seconds: float, work: Path) -> dict:
    """Load at 8 clients for ``seconds``, sampling PSS every 10 s; the least-squares slope of
    the samples after :data:`SOAK_WARMUP_S`."""
    bodies = work / "bodies.jsonl"
    write_text_atomic(bodies, "\n".join(workload.bodies) + "\n")
    samples: list[tuple[float, float]] = []
    log = work / "soak.log"
    with ServiceProcess(workload.index_dir, *workload.serve_options, log_path=log) as server:
        result: dict = {}
        runner = threading.Thread(
            target=lambda: result.update(run_wrk(server.url, bodies, 8, seconds, 10**9))
        )
        start = time.monotonic()
        runner.start()
        while runner.is_alive():
            samples.append((time.monotonic() - start, pss_mib(server.process.pid)))
            runner.join(timeout=10)
    return {**result, "seconds": seconds, "samples": samples, **soak_slope(samples)}


def soak_slope(samples: list[tuple[float, float]]) -> dict[str, float]:
    """PSS slope (MiB per minute) and range over the samples after the warm-up."""
    t, mib = np.asarray(samples, dtype=float).reshape(-1, 2).T
    late = t >= SOAK_WARMUP_S
    if late.sum() < 3:
        return {"slope_mib_per_min": 0.0, "late_min_mib": 0.0, "late_max_mib": 0.0}
    slope = float(np.polyfit(t[late] / 60, mib[late], 1)[0])
    return {
        "slope_mib_per_min": slope,
        "late_min_mib": float(mib[late].min()),
        "late_max_mib": float(mib[late].max()),
    }


# -- report --------------------------------------------------------------------------------------


def _row(run: dict) -> str:
    return (
        f"{run['clients']:>2} clients: {run['qps']:8.1f} QPS, p50 {run['p50_ms']:.2f} ms, "
        f"p99 {run['p99_ms']:.2f} ms, {run['errors']} errors, PSS {run['pss_mib']:.0f} MiB"
    )


def markdown(payload: dict) -> str:
    lines = [
        "# bench-serve: lsr serve under wrk",
        "",
        provenance.markdown(payload["provenance"]),
        "",
        "wrk runs in another process on the same machine (its threads share the cores with the "
        "server). Latency is wrk's, per request; PSS is the server's processes after each run; "
        "load is the machine's 1-minute load average before and after the run. CPU per request: "
        "the server's event loops (HTTP, routing, validation, JSON) and its thread pools "
        "(search kernels, encoding), from /proc over the run; minor faults: pages of the "
        "memory-mapped index the process touched for the first time (each costs kernel time).",
        "",
    ]
    for result in payload["workloads"]:
        lines += [f"## {result['name']}", "", *_settings(result)]
        in_process = result["in_process"]
        lines.append(
            f"In process, one at a time: p50 {in_process['p50_ms']:.3f} ms, "
            f"p99 {in_process['p99_ms']:.3f} ms."
        )
        if "floor_8_clients" in in_process:  # not recorded by older reports
            floor = in_process["floor_8_clients"]
            lines.append(
                f"What these times alone allow at 8 clients (first come, first served by one "
                f"search thread per core, nothing else on the cores: `queueing_floor`): p50 "
                f"{floor['p50_ms']:.2f} ms, p99 {floor['p99_ms']:.2f} ms."
            )
        lines += [
            "",
            "| workers | clients | QPS | p50 ms | p99 ms | errors | PSS MiB | CPU ms/request: "
            "event loop, pools (in the kernel) | pools' minor faults/request | load |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for served in result["served"]:
            for run in served["runs"]:
                lines.append(
                    f"| {served['workers']} | {run['clients']} | {run['qps']:.1f} | "
                    f"{run['p50_ms']:.2f} | {run['p99_ms']:.2f} | {run['errors']} | "
                    f"{run['pss_mib']:.0f} | {_cpu(run)} | {_load(run)} |"
                )
        lines += ["", *_verdicts(result), ""]
    if "load_after" in payload:
        lines += [
            f"Load average (1 min) of the machine: {payload['load_before']:.1f} before, "
            f"{payload['load_after']:.1f} after (other users' processes share the cores).",
            "",
        ]
    if payload.get("soak"):
        soak_result = payload["soak"]
        lines += [
            f"## Soak: (a) at 8 clients for {soak_result['seconds']:.0f} s",
            "",
            f"{soak_result['requests']:,} requests, {soak_result['errors']} errors. PSS "
            f"{soak_result['samples'][0][1]:.0f} MiB at the start; after the first "
            f"{SOAK_WARMUP_S:.0f} s (the index's pages mapped in as queries touch them) between "
            f"{soak_result['late_min_mib']:.0f} and {soak_result['late_max_mib']:.0f} MiB, "
            f"slope {soak_result['slope_mib_per_min']:+.2f} MiB/min (least squares, samples "
            "every 10 s).",
            "",
        ]
    return "\n".join(lines)


def _settings(result: dict) -> list[str]:
    """The served search parameters and their accuracy@10 (where the workload has them)."""
    if not result.get("settings"):
        return []
    line = _named(result["settings"])
    accuracy = result.get("accuracy")
    if accuracy:
        line += (
            f": accuracy@10 {accuracy['accuracy_at_10']:.3f} against exact search on the first "
            f"{accuracy['n_queries']} queries"
        )
    build = result.get("build")
    built = f" (built with {_named(build)})" if build else ""
    return [f"Served from `{result['index']}`{built} with {line}.", ""]


def _named(values: dict[str, Any]) -> str:
    return ", ".join(f"{name} {value}" for name, value in values.items())


def _cpu(run: dict) -> str:
    """Per request: CPU ms of the event loop and of the pools, the kernel's part in
    parentheses, and the pools' minor page faults."""
    loop, pools = run["per_request"]["event_loop"], run["per_request"]["pools"]
    return (
        f"{loop['cpu_ms']:.2f} ({loop['system_ms']:.2f}), {pools['cpu_ms']:.2f} "
        f"({pools['system_ms']:.2f}) | {pools['minor_faults']:.0f}"
    )


def _load(run: dict) -> str:
    """The run's load average before -> after (runs of older reports did not record it)."""
    return " -> ".join(f"{x:.1f}" for x in run["load"]) if "load" in run else ""


def _verdicts(result: dict) -> list[str]:
    lines = []
    for served in result["served"]:
        overhead = served.get("overhead")
        if overhead:
            lines.append(
                f"- {served['workers']} worker(s): HTTP overhead at 1 client, median over "
                f"{len(overhead['rounds'])} rounds of (p50 over HTTP - p50 in process) on the "
                f"same queries: {overhead['median_ms']:.2f} ms (quartiles "
                f"{overhead['q1_ms']:.2f} .. {overhead['q3_ms']:.2f}, range "
                f"{overhead['min_ms']:.2f} .. {overhead['max_ms']:.2f}; target <= 1 ms)"
            )
        runs = {r["clients"]: r for r in served["runs"]}
        if 1 in runs and 8 in runs:
            ratio = runs[8]["qps"] / runs[1]["qps"]
            lines.append(
                f"- {served['workers']} worker(s): QPS at 8 clients / at 1 = {ratio:.2f}x "
                f"(target >= 1.7x on (a)); p99 at 8 clients {runs[8]['p99_ms']:.2f} ms "
                "(target <= 20 ms on (a))"
            )
        if 32 in runs:
            lines.append(
                f"- {served['workers']} worker(s): {runs[32]['errors']} errors at 32 clients "
                "(target 0)"
            )
    return lines


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workload",
    "workloads",
    multiple=True,
    type=click.Choice(["synthetic", "bm25", "splade"]),
    help="Workloads to run (repeatable). Default: all three.",
)
@click.option("--n-docs", default=200_000, show_default=True, help="Synthetic collection size (a).")
@click.option("--n-queries", default=1000, show_default=True, help="Synthetic queries (a).")
@click.option(
    "--clients",
    default="1,8,32",
    show_default=True,
    callback=lambda c, p, v: _ints(v),
    help="Concurrent connections of each run.",
)
@click.option(
    "--workers",
    default="1,2",
    show_default=True,
    callback=lambda c, p, v: _ints(v),
    help="lsr serve --workers values, for (a); (b) and (c) run with the first.",
)
@click.option("--duration", default=10.0, show_default=True, help="Seconds per run (at most).")
@click.option(
    "--max-requests", default=20_000, show_default=True, help="Requests per run (at most)."
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=CACHE,
    show_default=True,
    help="Folder of (a)'s vectors and index, made on first use and reused.",
)
@click.option(
    "--warmup",
    default=20.0,
    show_default=True,
    help="Seconds (at most a pass over the queries by each wrk thread) of load before each "
    "server's runs.",
)
@click.option("--in-process-seconds", default=5.0, show_default=True)
@click.option(
    "--overhead-rounds",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="Rounds alternating HTTP and in-process searches of the same queries, whose median "
    "difference is the HTTP overhead (0: none).",
)
@click.option(
    "--index",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Serve this index of (a)'s documents instead of the cached one (e.g. a copy whose "
    "manifest `lsr index tune --target-accuracy 0.95` rewrote: its stored defaults serve).",
)
@click.option(
    "--query-cut",
    type=click.IntRange(min=1),
    help="query_cut sent with every request of (a) [default: the index's stored one].",
)
@click.option(
    "--heap-factor",
    type=click.FloatRange(min=0.0, min_open=True),
    help="heap_factor sent with every request of (a) [default: the index's stored one]; "
    "e.g. what `lsr index tune --target-accuracy 0.95 --dry-run` chooses.",
)
@click.option(
    "--centroid-fraction",
    type=click.FloatRange(min=0.0, max=1.0, min_open=True),
    help="(a)'s cached index built with this centroid_fraction [default: the build's, the "
    "reference's 0.1]; e.g. 0.3 for finer blocks (index/config.py).",
)
@click.option(
    "--tune-accuracy",
    type=click.FloatRange(min=0.0, max=1.0, min_open=True),
    help="(a)'s cached index tuned on its queries for this accuracy@10 when built (`lsr index "
    "tune --target-accuracy`), and served with the parameters chosen.",
)
@click.option(
    "--in-memory",
    is_flag=True,
    help="(a): `lsr serve --in-memory` (the index read into the worker's memory), and the "
    "in-process searches from memory too.",
)
@click.option("--soak", default=0.0, show_default=True, help="Soak (a) at 8 clients, seconds.")
@click.option("--out", default="reports/bench-serve", show_default=True, help="OUT.md, OUT.json")
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(**options: Any) -> None:
    """Load lsr serve with wrk on (a) synthetic vectors, (b) BM25 and (c) splade-tiny text."""
    if shutil.which("wrk") is None:
        raise click.ClickException("wrk is not installed: run `make install-browser` (as root)")
    origin = provenance.record(provenance.command_line("benchmarks.serve"), options["allow_dirty"])
    use_torch_threads(1)  # as lsr serve encodes (--torch-threads 1): the same work in process
    work = CACHE / "serve"
    work.mkdir(parents=True, exist_ok=True)
    makers = {
        "synthetic": lambda: synthetic(
            options["n_docs"],
            options["n_queries"],
            options["cache"],
            options["query_cut"],
            options["heap_factor"],
            options["index"],
            options["in_memory"],
            options["centroid_fraction"],
            options["tune_accuracy"],
        ),
        "bm25": bm25,
        "splade": splade,
    }
    payload: dict[str, Any] = {
        "provenance": origin,
        "load_before": os.getloadavg()[0],
        "workloads": [],
    }
    for name in options["workloads"] or tuple(makers):
        workload = makers[name]()
        worker_counts = options["workers"] if name == "synthetic" else options["workers"][:1]
        served = [measure(workload, w, options, work) for w in worker_counts]
        # In process after the server: both then find the index's pages in the page cache (a
        # cold 1M index made the in-process figure twice the served one at first).
        in_process = in_process_latency(workload, options["in_process_seconds"])
        payload["workloads"].append(
            {"name": workload.name, "in_process": in_process, "served": served,
             "index": str(workload.index_dir), "settings": workload.settings,
             "accuracy": workload.accuracy, "build": workload.build}
        )  # fmt: skip
        if name == "synthetic" and options["soak"] > 0:
            payload["soak"] = soak(workload, options["soak"], work)
    payload["load_after"] = os.getloadavg()[0]
    out = ROOT / options["out"]
    click.echo(provenance.save_report(out, payload, markdown(payload)))


if __name__ == "__main__":
    provenance.run_main(main)
