"""The unified framework's encoder combinations on SciFact: one recipe, one table.

Nguyen, MacAvaney, Yates ("A Unified Framework for Learned Sparse Retrieval", ECIR 2023) compare
learned sparse retrievers by what encodes each side: MLM expansion (SPLADE), MLP term weights
(uniCOIL), binary presence, idf. Each combination here is trained from splade-tiny with the
anchor's recipe (``lsr train``'s defaults: in-batch negatives, batch 16, lr 5e-5, lambda_q 5e-5,
lambda_d 3e-5; ``--steps`` 114 = 2 epochs of the 919 train pairs), then measured with ``lsr
eval`` on SciFact test (exact index): nDCG@10, mean non-zeros of the query and document vectors,
and two FLOPS figures (Paria et al., ICLR 2020):

- query-document FLOPS ``sum_j p_q(j) p_d(j)``, the expected number of multiplications of one
  query-document dot product (``p_q(j)``, ``p_d(j)``: the share of queries, of documents, with
  term j non-zero); the fair one when the two sides differ;
- corpus FLOPS ``sum_j p_d(j)^2``, what :mod:`lsr.vector_stats` and the earlier reports give.

Every run is a real ``lsr`` command under ``nice -n 10``, one at a time; nothing is chosen on
the test split (the recipe is fixed before any run). A run whose model folder exists is reused,
so a killed benchmark resumes.

    python -m benchmarks.train_combinations --out reports/train-combinations
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.provenance import (
    ALLOW_DIRTY_HELP,
    command_line,
    markdown,
    record,
    run_main,
    save_report,
)
from lsr.vector_io import read_vectors
from lsr.vectors import SparseCollection

# (query encoder, document encoder), as the issue lists them
COMBINATIONS = [
    ("mlm", "mlm"),
    ("binary", "mlm"),
    ("idf", "mlm"),
    ("mlp", "mlp"),
    ("mlp", "mlm"),
    ("binary", "mlp"),
]
LSR = str(Path(sys.executable).parent / "lsr")


def run(command: list[str]) -> None:
    """One ``lsr`` command at low priority; its error output on failure."""
    done = subprocess.run(["nice", "-n", "10", *command], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed: {shlex.join(command)}\n{done.stderr[-3000:]}")


def train_command(args: argparse.Namespace, query: str, document: str, out: Path) -> list[str]:
    return [
        LSR, "train", "--model", args.model, "--dataset", "scifact", "--data-dir", args.data_dir,
        "--query-encoder", query, "--doc-encoder", document, "--max-steps", str(args.steps),
        "--checkpoint-every", str(args.steps), "--output-dir", str(out), "--quiet",
    ]  # fmt: skip


def measure(args: argparse.Namespace, model: str, work: Path) -> dict[str, float]:
    """nDCG@10 through ``lsr eval`` (exact), and the vectors' non-zeros and FLOPS."""
    run(
        [
            LSR, "eval", "--model", model, "--dataset", "scifact", "--data-dir", args.data_dir,
            "--index", "exact", "--out", str(work / "eval"), "--cache-dir", str(work / "cache"),
            "--latency-queries", "10", "--no-progress",
        ]
    )  # fmt: skip
    run(
        [
            LSR, "encode", "--model", model, "--queries", "scifact", "--split", "test",
            "--data-dir", args.data_dir, "--out", str(work / "queries.parquet"), "--no-progress",
        ]
    )  # fmt: skip
    metrics = json.loads((work / "eval" / "metrics.json").read_text())["results"][0]["metrics"]
    (docs_path,) = (work / "cache").rglob("docs.parquet")
    return {
        "ndcg@10": metrics["ndcg@10"],
        **vector_figures(read_vectors(work / "queries.parquet"), read_vectors(docs_path)),
    }


def term_shares(vectors: SparseCollection) -> np.ndarray:
    """The share of vectors in which each term is non-zero."""
    counts = np.bincount(vectors.indices[vectors.values > 0], minlength=vectors.vocab_size)
    return counts / max(len(vectors), 1)


def vector_figures(queries: SparseCollection, documents: SparseCollection) -> dict[str, float]:
    p_q, p_d = term_shares(queries), term_shares(documents)
    return {
        "query_nnz": float(np.mean(queries.lengths())),
        "doc_nnz": float(np.mean(documents.lengths())),
        "flops": float(p_q @ p_d),
        "corpus_flops": float(p_d @ p_d),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="../shared/models/splade-tiny")
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--steps", type=int, default=114, help="2 epochs of 919 pairs at 16")
    parser.add_argument("--work", type=Path, default=Path("runs/train-combinations"))
    parser.add_argument("--out", type=Path, default=Path("reports/train-combinations"))
    parser.add_argument("--allow-dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = parser.parse_args()
    provenance = record(command_line("benchmarks.train_combinations"), args.allow_dirty)
    rows = [{"query": "-", "document": "-", "label": "splade-tiny, not trained"}]
    rows[0].update(measure(args, args.model, args.work / "untrained"))
    print(json.dumps(rows[0]), flush=True)
    for query, document in COMBINATIONS:
        out = args.work / f"{query}-{document}"
        command = train_command(args, query, document, out)
        started = time.time()
        if not (out / "model").is_dir():
            run(command)
        row = {"query": query, "document": document, "train_seconds": time.time() - started}
        row["train_command"] = shlex.join(command)
        row.update(measure(args, str(out / "model"), out))
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"provenance": provenance, "steps": args.steps, "rows": rows}
    print(save_report(args.out, result, render(result)))


def render(result: dict) -> str:
    lines = [
        "# Encoder combinations of the unified framework, trained from splade-tiny (SciFact test)",
        "",
        markdown(result["provenance"]),
        "",
        f"Recipe, the same for every row (fixed before any run): `lsr train` defaults, in-batch "
        f"negatives, batch 16, lr 5e-5, lambda_q 5e-5, lambda_d 3e-5, {result['steps']} steps, "
        "siamese backbone (one transformer shared by the model sides). Measured with `lsr eval` "
        "(exact index) and `lsr encode` of the test queries. FLOPS q-d: `sum_j p_q(j) p_d(j)`, "
        "the expected multiplications per query-document pair; corpus FLOPS: `sum_j p_d(j)^2` "
        "(as `lsr vectors stats` and the earlier reports).",
        "",
        "| queries | documents | nDCG@10 | query nnz | doc nnz | FLOPS q-d | corpus FLOPS |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['query']} | {row['document']} | {row['ndcg@10']:.4f} | "
            f"{row['query_nnz']:.1f} | {row['doc_nnz']:.1f} | {row['flops']:.2f} | "
            f"{row['corpus_flops']:.2f} |"
        )
    lines += ["", "The first row is splade-tiny itself, before any training.", "", "Commands:", ""]
    lines += [f"    {row['train_command']}" for row in result["rows"] if "train_command" in row]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    run_main(main)
