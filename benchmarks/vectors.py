"""Streaming benchmark of the vector format: write then read back N vectors in bounded memory.

    python -m benchmarks.vectors [--n-vectors 1000000] [--nnz 100] [--out reports/bench-vectors.md]
                                 [--allow-dirty]

The collection is generated chunk by chunk and written with `VectorWriter`, then streamed back
with `iter_vectors`; peak resident memory (ru_maxrss) must stay far below the size of the whole
collection in memory, which is what lets `lsr encode` and `lsr index build` handle corpora
larger than RAM.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import provenance
from lsr.atomic import write_text_atomic
from lsr.vector_io import VectorWriter, iter_vectors
from lsr.vectors import SparseCollection, VectorMetadata

VOCAB = 30_522


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_chunk(start: int, size: int, nnz: int, rng: np.random.Generator) -> SparseCollection:
    # sorted draws from [0, V - nnz) plus 0..nnz-1 are strictly increasing: distinct term ids
    draws = np.sort(rng.integers(0, VOCAB - nnz, (size, nnz)), axis=1)
    indices = draws + np.arange(nnz)
    values = rng.lognormal(0.0, 0.5, (size, nnz)).astype(np.float32)
    return SparseCollection(
        [f"doc{start + i}" for i in range(size)],
        np.arange(0, size * nnz + 1, nnz, dtype=np.int64),
        indices.astype(np.int32).ravel(),
        values.ravel(),
        VectorMetadata(VOCAB),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n-vectors", type=int, default=1_000_000)
    parser.add_argument("--nnz", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=Path("reports/bench-vectors.md"))
    parser.add_argument("--allow-dirty", action="store_true", help=provenance.ALLOW_DIRTY_HELP)
    args = parser.parse_args()
    origin = provenance.record(provenance.command_line("benchmarks.vectors"), args.allow_dirty)

    rng = np.random.default_rng(0)
    metadata = VectorMetadata(VOCAB, None, {"source": "benchmarks.vectors"})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vectors.parquet"
        start = time.perf_counter()
        with VectorWriter(path, metadata) as writer:
            for first in range(0, args.n_vectors, args.chunk):
                size = min(args.chunk, args.n_vectors - first)
                writer.write(synthetic_chunk(first, size, args.nnz, rng))
        write_s = time.perf_counter() - start
        write_peak = peak_rss_mb()
        start = time.perf_counter()
        count = nnz = 0
        for part in iter_vectors(path):
            count += len(part)
            nnz += part.nnz
        read_s = time.perf_counter() - start
        file_mb = path.stat().st_size / 2**20
    in_memory_mb = args.n_vectors * args.nnz * 8 / 2**20
    assert count == args.n_vectors and nnz == args.n_vectors * args.nnz
    rows = [
        ("vectors", f"{count:,} x {args.nnz} nnz"),
        ("collection in memory (CSR)", f"{in_memory_mb:,.0f} MB"),
        ("file size", f"{file_mb:,.0f} MB"),
        ("write", f"{write_s:.1f} s ({count / write_s:,.0f} vectors/s)"),
        ("read (streamed, validated)", f"{read_s:.1f} s ({count / read_s:,.0f} vectors/s)"),
        ("peak RSS after write", f"{write_peak:,.0f} MB"),
        ("peak RSS after read", f"{peak_rss_mb():,.0f} MB"),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    report = (
        "# Vector format streaming benchmark\n\n"
        f"{provenance.markdown(origin)}\n"
        f"| measure | value |\n|---|---|\n{table}\n"
    )
    print(report)
    write_text_atomic(args.out, report)


if __name__ == "__main__":
    provenance.run_main(main)
