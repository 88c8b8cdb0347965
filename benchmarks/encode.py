"""Encoding benchmark: lsr's SPLADE encoder against sentence-transformers' SparseEncoder.

    python -m benchmarks.encode [--docs 1000] [--repeats 3] [--threads 1] [--allow-dirty]

Same model (splade-tiny), same texts, same maximum lengths (256 for documents, 64 for queries),
same batch size, measured in one run on one machine.

Throughput: the first ``--docs`` SciFact documents (title + " " + text), encoded by each system
after a warm-up; ``--repeats`` rounds in which the systems take turns (the order rotates every
round), so that load on the machine hits all of them alike; each system's median round is
reported, and the ratio of medians. The vectors must agree with the peer's (largest absolute
difference of any weight below 1e-4).

Query latency: every SciFact test query encoded alone (what a server does per request), by
each path in turn (the order rotates every query); wall-clock p50/p99 and the CPU time of the
calling thread (which machine load disturbs less), one torch thread unless told. Our query
vectors are checked against the peer's too. Then where a query's time goes in our encoder:
tokenizer, model (transformer and MLM head transform), pooling (vocabulary projection, max,
activation, the sparse row), and the rest (the collection, input checks).

Our encoder is measured on the path it takes by default on the machine first (the int8 screen
where the CPU has bfloat16 dot products, then float32 too; float32 alone elsewhere, unless
``--screen``).

Writes ``reports/bench-encode.json`` and ``reports/bench-encode.md``; refuses a tree with
uncommitted changes unless ``--allow-dirty`` (the report then says so).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from benchmarks.exact_reference import to_csr
from benchmarks.provenance import (
    ALLOW_DIRTY_HELP,
    command_line,
    markdown,
    record,
    run_main,
    save_report,
)
from lsr.datasets import load_dataset
from lsr.encoders import InferenceFreeEncoder, SpladeEncoder

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT.parent / "shared" / "models" / "splade-tiny"
DATA = ROOT.parent / "shared" / "data"  # where --dataset names are found
MAX_DIFF = 1e-4
PEER = "sentence-transformers SparseEncoder"
OURS = "lsr SpladeEncoder"


def peer_csr(tensor: torch.Tensor) -> sp.csr_matrix:
    coo = tensor.coalesce()
    if coo.dim() == 1:  # encode_query(q) of a single string: one vector
        (cols,) = coo.indices().numpy()
        return sp.csr_matrix((coo.values().numpy(), ([0] * len(cols), cols)), (1, coo.shape[0]))
    rows, cols = coo.indices().numpy()
    return sp.csr_matrix((coo.values().numpy(), (rows, cols)), shape=tuple(coo.shape))


def rotations(names: Sequence[str], turn: int) -> list[str]:
    """``names`` rotated by ``turn``: who goes first changes every round."""
    shift = turn % len(names)
    return [*names[shift:], *names[:shift]]


def throughput(
    texts: Sequence[str],
    systems: dict[str, Callable[[Sequence[str]], sp.csr_matrix]],
    repeats: int,
    warmup: int,
) -> tuple[dict[str, list[float]], dict[str, sp.csr_matrix]]:
    """Seconds of every round of every system (rounds interleaved), and each system's vectors."""
    for encode in systems.values():
        encode(texts[:warmup])
    seconds: dict[str, list[float]] = {name: [] for name in systems}
    outputs: dict[str, sp.csr_matrix] = {}
    for turn in range(repeats):
        for name in rotations(list(systems), turn):
            start = time.perf_counter()
            outputs[name] = systems[name](texts)
            seconds[name].append(time.perf_counter() - start)
    return seconds, outputs


def latencies(
    queries: Sequence[str], paths: dict[str, Callable[[str], Any]], warmup: int
) -> dict[str, dict[str, float]]:
    """Per-query wall and thread-CPU time of every path, the paths taking turns per query."""
    for path, query in itertools.product(paths.values(), queries[:warmup]):
        path(query)
    wall: dict[str, list[int]] = {name: [] for name in paths}
    cpu: dict[str, list[int]] = {name: [] for name in paths}
    for turn, query in enumerate(queries):
        for name in rotations(list(paths), turn):
            start_cpu, start = time.thread_time_ns(), time.perf_counter_ns()
            paths[name](query)
            wall[name].append(time.perf_counter_ns() - start)
            cpu[name].append(time.thread_time_ns() - start_cpu)
    return {name: _percentiles(wall[name], cpu[name]) for name in paths}


def _percentiles(wall: list[int], cpu: list[int]) -> dict[str, float]:
    return {
        "p50_us": float(np.percentile(wall, 50)) / 1e3,
        "p99_us": float(np.percentile(wall, 99)) / 1e3,
        "cpu_p50_us": float(np.percentile(cpu, 50)) / 1e3,
    }


def query_stages(encoder: SpladeEncoder, queries: Sequence[str]) -> dict[str, float]:
    """CPU-time p50 (us) of each stage of ``encode_queries([q])``; "pooling" is what
    ``sparse_rows`` adds to the model (projection, max, activation, the query's sparse row), "rest"
    the total's p50 minus the stages' p50s (the collection, input checks)."""
    length = encoder.query_max_length
    stages: dict[str, Callable[[str], Any]] = {
        "tokenizer": lambda q: encoder.tokenize([q], length),
        "model": lambda q: encoder.states(encoder.tokenize([q], length)),
        "pooling": lambda q: encoder.sparse_rows(encoder.tokenize([q], length)),
        "total": lambda q: encoder.encode_queries([q]),
    }
    cumulative = {
        name: stats["cpu_p50_us"] for name, stats in latencies(queries, stages, 5).items()
    }
    return {
        "tokenizer": cumulative["tokenizer"],
        "model": cumulative["model"] - cumulative["tokenizer"],
        "pooling": cumulative["pooling"] - cumulative["model"],
        "rest": cumulative["total"] - cumulative["pooling"],
        "total": cumulative["total"],
    }


def query_agreement(ours: SpladeEncoder, peer: Any, queries: Sequence[str]) -> float:
    """Largest absolute weight difference between our query vectors and the peer's."""
    with torch.inference_mode():
        theirs = peer_csr(peer.encode_query(list(queries), convert_to_sparse_tensor=True))
    return float(abs(to_csr(ours.encode_queries(list(queries))) - theirs).max())


def load_peer(model: Path, max_length: int) -> Any:
    from sentence_transformers import SparseEncoder

    peer = SparseEncoder(str(model), device="cpu")
    peer.max_seq_length = max_length
    return peer


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="scifact")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--docs", type=int, default=1000, help="first N documents (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--warmup", type=int, default=32, help="documents / queries of warm-up")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for throughput (default 1: on a shared machine, a thread of a "
        "parallel region waiting for a core stalls the others at every barrier)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=256, help="document max length")
    parser.add_argument("--query-max-length", type=int, default=64)
    parser.add_argument("--queries", type=int, default=None, help="first N test queries (all)")
    parser.add_argument(
        "--latency-threads",
        type=int,
        default=1,
        help="torch threads for single-query latency (a server runs requests side by side)",
    )
    parser.add_argument(
        "--latency-only",
        action="store_true",
        help="skip the throughput rounds: a run of a minute, for the latency at a quiet moment "
        "(default --out then reports/bench-encode-latency)",
    )
    parser.add_argument(
        "--screen",
        action="store_true",
        help="measure the int8 screen also where it is off by default (a CPU without bfloat16 "
        "dot products, where its int8 products run 12x slower than float32's: on an AVX2-only "
        "Zen 4, 320 documents had not finished in 15 minutes)",
    )
    parser.add_argument("--allow-dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    parser.add_argument("--out", type=Path, default=None, help="reports/bench-encode[-latency]")
    args = parser.parse_args()
    if args.out is None:
        name = "bench-encode-latency" if args.latency_only else "bench-encode"
        args.out = ROOT / "reports" / name
    return args


def main() -> None:
    args = parse_args()
    provenance = record(command_line("benchmarks.encode"), args.allow_dirty)
    load_at_start = os.getloadavg()
    dataset = load_dataset(args.dataset, DATA)
    corpus = [doc.full_text for doc in dataset.docs()]
    texts = corpus[: args.docs]
    queries = list(dataset.queries(dataset.default_split()).values())[: args.queries]

    common = {
        "document_max_length": args.max_length,
        "query_max_length": args.query_max_length,
        "batch_size": args.batch_size,
    }
    ours = _our_paths(args.model, common, args.screen)
    peer = load_peer(args.model, args.max_length)
    systems = {name: _document_encoder(encoder) for name, encoder in ours.items()}
    systems[PEER] = lambda docs: peer_csr(
        peer.encode_document(list(docs), batch_size=args.batch_size, convert_to_sparse_tensor=True)
    )
    seconds, rates, diffs = {}, {}, {}
    if args.latency_only:
        texts = []
    else:
        torch.set_num_threads(args.threads)
        with torch.inference_mode():
            seconds, outputs = throughput(texts, systems, args.repeats, args.warmup)
        rates = {name: len(texts) / float(np.median(times)) for name, times in seconds.items()}
        diffs = {name: float(abs(outputs[name] - outputs[PEER]).max()) for name in ours}

    peer.max_seq_length = args.query_max_length
    torch.set_num_threads(args.latency_threads)
    default, splade = next(iter(ours.items()))
    query_diff = query_agreement(splade, peer, queries)
    inference_free = InferenceFreeEncoder.fit(splade, corpus)
    paths = {f"{name} encode_queries([q])": _query_path(encoder) for name, encoder in ours.items()}
    paths[f"{PEER} encode_query(q)"] = peer.encode_query
    paths["lsr inference-free encode_queries([q])"] = _query_path(inference_free)
    with torch.inference_mode():
        latency = latencies(queries, paths, args.warmup)
        stages = query_stages(splade, queries)

    result = {
        "provenance": provenance,
        "dataset": args.dataset,
        "model": args.model.name,
        "default_path": default,
        "n_docs": len(texts),
        "n_queries": len(queries),
        "repeats": args.repeats,
        "warmup": args.warmup,
        "threads": args.threads,
        "latency_threads": args.latency_threads,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "query_max_length": args.query_max_length,
        "seconds": seconds,
        "docs_per_s": rates,
        "ratio_vs_peer": {name: rates[name] / rates[PEER] for name in rates if name != PEER},
        "max_abs_diff_vs_peer": diffs,
        "query_max_abs_diff_vs_peer": query_diff,
        "same_vectors": all(d < MAX_DIFF for d in [*diffs.values(), query_diff]),
        "query_latency": latency,
        "query_stages_cpu_us": stages,
        "load_average_1_5_15_min": {"start": load_at_start, "end": os.getloadavg()},
    }
    print(save_report(args.out, result, render(result)))


def _our_paths(model: Path, options: dict[str, Any], screen: bool) -> dict[str, SpladeEncoder]:
    """Our encoder's paths to measure: first the one it takes by default here (it decides, as
    for any user), then the other one where the default is the int8 screen or ``screen`` asks."""
    default = SpladeEncoder.load(model, **options)
    paths = {_path_name(default.screen): default}
    if default.screen or screen:
        other = not default.screen
        paths[_path_name(other)] = SpladeEncoder.load(model, screen=other, **options)
    return paths


def _path_name(screen: bool) -> str:
    return f"{OURS} ({'int8 screen' if screen else 'float32'})"


def _document_encoder(encoder: SpladeEncoder) -> Callable[[Sequence[str]], sp.csr_matrix]:
    return lambda docs: to_csr(encoder.encode_documents(list(docs)))


def _query_path(encoder: Any) -> Callable[[str], Any]:
    return lambda query: encoder.encode_queries([query])


def render(result: dict[str, Any]) -> str:
    """The Markdown report: provenance header, throughput, query latency, the query's stages."""
    load = result["load_average_1_5_15_min"]
    lines = [
        f"# Encoding benchmark: {result['model']} on {result['dataset']}",
        "",
        markdown(result["provenance"]),
        f"Load average (1/5/15 min) at the start {_loads(load['start'])}, at the end "
        f"{_loads(load['end'])}: the machine is shared, compare ratios and CPU times.",
        "",
    ]
    if not any("int8 screen" in name for name in result["query_latency"]):
        lines += [
            "The int8 screen is off by default on this CPU (no bfloat16 dot products, where its "
            "int8 products run slower than float32's) and was not measured (`--screen`).",
            "",
        ]
    if result["docs_per_s"]:
        lines += _throughput_lines(result)
    else:
        lines.append("Throughput not measured (`--latency-only`): see reports/bench-encode.md.")
    lines += [
        "",
        f"Query vectors (all {result['n_queries']} test queries, max length "
        f"{result['query_max_length']}): max abs diff vs peer "
        f"{result['query_max_abs_diff_vs_peer']:.1e}. Same vectors (every weight within "
        f"{MAX_DIFF:g}): {result['same_vectors']}",
        "",
        f"Single-query latency over the {result['n_queries']} test queries, "
        f"{result['latency_threads']} torch thread(s), the paths taking turns query by query "
        "(wall clock; CPU is the calling thread's CPU time, less disturbed by other load):",
        "",
        "| path | p50 | p99 | CPU p50 |",
        "|---|---:|---:|---:|",
    ]
    for name, stats in result["query_latency"].items():
        lines.append(
            f"| {name} | {stats['p50_us'] / 1e3:.2f} ms | {stats['p99_us'] / 1e3:.2f} ms | "
            f"{stats['cpu_p50_us'] / 1e3:.2f} ms |"
        )
    ours, peer = (
        next(stats for name, stats in result["query_latency"].items() if name.startswith(prefix))
        for prefix in (result["default_path"], PEER)
    )
    path = result["default_path"].removeprefix(OURS).strip(" ()")
    stages = result["query_stages_cpu_us"]
    lines += [
        "",
        f"Peer p50 / ours ({path}, this CPU's default) p50: "
        f"{peer['p50_us'] / ours['p50_us']:.2f}x wall, "
        f"{peer['cpu_p50_us'] / ours['cpu_p50_us']:.2f}x CPU.",
        "",
        f"Where a query's time goes (ours, {path}; CPU p50 of each stage):",
        "",
        "| tokenizer | model (transformer + MLM transform) | pooling (projection, max, "
        "activation, sparse row) | rest (collection, checks) | total |",
        "|---:|---:|---:|---:|---:|",
        "| " + " | ".join(f"{stages[k] / 1e3:.2f} ms" for k in stages) + " |",
    ]
    return "\n".join(lines) + "\n"


def _throughput_lines(result: dict[str, Any]) -> list[str]:
    lines = [
        f"Throughput: {result['n_docs']} documents, max length {result['max_length']}, batch "
        f"size {result['batch_size']}, {result['threads']} torch threads; after a warm-up of "
        f"{result['warmup']} documents, {result['repeats']} rounds with the systems taking turns "
        "(order rotated every round); the median round of each system.",
        "",
        "| encoder | docs/s (median) | rounds (s) | ratio vs peer | max abs diff vs peer |",
        "|---|---:|---|---:|---:|",
    ]
    for name, rate in result["docs_per_s"].items():
        ratio = result["ratio_vs_peer"].get(name, 1.0)
        diff = result["max_abs_diff_vs_peer"].get(name)
        rounds = ", ".join(f"{s:.1f}" for s in result["seconds"][name])
        lines.append(
            f"| {name} | {rate:.1f} | {rounds} | {ratio:.2f}x | "
            f"{'-' if diff is None else f'{diff:.1e}'} |"
        )
    return lines


def _loads(loads: Sequence[float]) -> str:
    return "/".join(f"{x:.1f}" for x in loads)


if __name__ == "__main__":
    run_main(main)
