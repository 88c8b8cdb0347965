"""Encoding benchmark: lsr's SPLADE encoder against sentence-transformers' SparseEncoder.

    python -m benchmarks.encode [--docs 500 | --full] [--threads 2] [--repeats 1]

Same model (splade-tiny), same texts (SciFact documents, title + " " + text), same maximum
length (256), same batch size, measured in the same run and interleaved, so machine load hits
both sides alike; the ratio is the figure that matters. Both sides sort their batches by length.
The vectors must agree: the largest absolute difference of any weight is checked (< 1e-4).
Then single-query latency (p50/p99 over the SciFact test queries) for SPLADE, for the peer, and
for the inference-free query path (a tokenizer call and an idf lookup, no model).

Writes ``reports/bench-encode.json`` and ``reports/bench-encode.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from lsr.datasets import load_dataset
from lsr.encoders import InferenceFreeEncoder, SpladeEncoder
from lsr.vectors import SparseCollection

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT.parent / "shared" / "models" / "splade-tiny"
MAX_DIFF = 1e-4
PEER = "sentence-transformers SparseEncoder"


def load_peer(model: Path, max_length: int):
    from sentence_transformers import SparseEncoder

    peer = SparseEncoder(str(model), device="cpu")
    peer.max_seq_length = max_length
    return peer


def to_csr(collection: SparseCollection) -> sp.csr_matrix:
    shape = (len(collection), collection.vocab_size)
    return sp.csr_matrix((collection.values, collection.indices, collection.indptr), shape=shape)


def peer_csr(tensor: torch.Tensor) -> sp.csr_matrix:
    coo = tensor.coalesce()
    rows, cols = coo.indices().numpy()
    return sp.csr_matrix((coo.values().numpy(), (rows, cols)), shape=tuple(coo.shape))


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def throughput(texts, ours: dict[str, SpladeEncoder], peer, batch_size: int, repeats: int):
    """Best time of each system over ``repeats`` interleaved rounds, and their outputs."""
    times: dict[str, list[float]] = {name: [] for name in [*ours, PEER]}
    outputs = {}
    for _ in range(repeats):
        seconds, result = timed(
            lambda: peer.encode_document(
                texts, batch_size=batch_size, convert_to_sparse_tensor=True
            )
        )
        times[PEER].append(seconds)
        outputs[PEER] = peer_csr(result)
        for name, encoder in ours.items():
            seconds, result = timed(lambda encoder=encoder: encoder.encode_documents(texts))
            times[name].append(seconds)
            outputs[name] = to_csr(result)
    return times, outputs


def latencies_us(function, queries: list[str]) -> dict[str, float]:
    for query in queries[:5]:
        function(query)  # warm-up
    samples = []
    for query in queries:
        start = time.perf_counter_ns()
        function(query)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return {
        "p50_us": float(np.percentile(samples, 50)),
        "p99_us": float(np.percentile(samples, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--dataset", default="scifact")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--docs", type=int, default=500, help="first N documents of the corpus")
    parser.add_argument("--full", action="store_true", help="the whole corpus")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--latency-threads",
        type=int,
        default=1,
        help="threads for single-query latency (a server runs requests side by side)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-encode")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    dataset = load_dataset(args.dataset)
    corpus = [doc.full_text for doc in dataset.docs()]
    texts = corpus if args.full else corpus[: args.docs]
    queries = list(dataset.queries(dataset.default_split()).values())

    common = {"document_max_length": args.max_length, "batch_size": args.batch_size}
    ours = {
        "lsr (bf16 screen)": SpladeEncoder.load(args.model, screen=True, **common),
        "lsr (float32)": SpladeEncoder.load(args.model, screen=False, **common),
    }
    peer = load_peer(args.model, args.max_length)
    with torch.inference_mode():
        times, outputs = throughput(texts, ours, peer, args.batch_size, args.repeats)

    rates = {name: len(texts) / min(seconds) for name, seconds in times.items()}
    diffs = {name: float(abs(outputs[name] - outputs[PEER]).max()) for name in ours}

    splade = ours["lsr (bf16 screen)"]
    inference_free = InferenceFreeEncoder.fit(splade, corpus)
    torch.set_num_threads(args.latency_threads)
    with torch.inference_mode():
        latency = {
            "lsr SPLADE encode_queries([q])": latencies_us(
                lambda q: splade.encode_queries([q]), queries
            ),
            f"{PEER} encode_query(q)": latencies_us(lambda q: peer.encode_query(q), queries),
            "lsr inference-free query_vector(q)": latencies_us(
                inference_free.query_vector, queries
            ),
            "lsr inference-free encode_queries([q])": latencies_us(
                lambda q: inference_free.encode_queries([q]), queries
            ),
        }

    command = (
        "python -m benchmarks.encode "
        + ("--full" if args.full else f"--docs {args.docs}")
        + f" --threads {args.threads} --repeats {args.repeats}"
        + f" --latency-threads {args.latency_threads}"
    )
    result = {
        "command": command,
        "dataset": args.dataset,
        "model": str(args.model.name),
        "n_docs": len(texts),
        "n_queries": len(queries),
        "threads": args.threads,
        "latency_threads": args.latency_threads,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "seconds": times,
        "docs_per_s": rates,
        "ratio_vs_peer": {name: rates[name] / rates[PEER] for name in ours},
        "max_abs_diff_vs_peer": diffs,
        "same_vectors": all(d < MAX_DIFF for d in diffs.values()),
        "query_latency": latency,
    }
    report = render(result)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(report)


def render(result: dict) -> str:
    lines = [
        "# Encoding benchmark: splade-tiny on SciFact",
        "",
        f"Command: `{result['command']}`",
        "",
        f"{result['n_docs']} documents, max length {result['max_length']}, batch size "
        f"{result['batch_size']}, {result['threads']} threads; best of the interleaved rounds.",
        "",
        "| encoder | docs/s | ratio vs peer | max abs diff vs peer |",
        "|---|---:|---:|---:|",
    ]
    for name, rate in result["docs_per_s"].items():
        ratio = result["ratio_vs_peer"].get(name)
        diff = result["max_abs_diff_vs_peer"].get(name)
        lines.append(
            f"| {name} | {rate:.1f} | {f'{ratio:.2f}x' if ratio else '1.00x'} | "
            f"{f'{diff:.1e}' if diff is not None else '-'} |"
        )
    lines += [
        "",
        f"Same vectors (every weight within {MAX_DIFF:g}): {result['same_vectors']}",
        "",
        f"Single-query latency over the {result['n_queries']} test queries, "
        f"{result['latency_threads']} thread(s):",
        "",
        "| path | p50 | p99 |",
        "|---|---:|---:|",
    ]
    for name, stats in result["query_latency"].items():
        lines.append(f"| {name} | {stats['p50_us']:.0f} us | {stats['p99_us']:.0f} us |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
