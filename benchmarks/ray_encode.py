"""``make bench-ray-encode``: ``lsr encode --ray`` throughput with 1 and 2 workers, one run.

The same documents (the first ``--n-docs`` of a corpus, as BEIR encodes them) are encoded by
:func:`lsr.encoding.encode_to_parquet` on a :class:`lsr.distributed.RayChunkPool` of 1, then 2
actors (one torch thread each) on one local Ray runtime (``num_cpus`` 2), each into a fresh
output; documents per second count the encode alone (the actors are started, and have encoded a
warm-up chunk, before the clock starts). The issue's target is 2 workers at >= 1.7x one
worker's throughput on 2 cores; both outputs must be the same vectors (checked).
"""

from __future__ import annotations

import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

import click
import numpy as np

from benchmarks import provenance
from lsr.datasets import iter_texts
from lsr.encoders import load
from lsr.encoding import encode_to_parquet
from lsr.vector_io import read_vectors

ROOT = Path(__file__).resolve().parents[1]
SPLADE_TINY = ROOT.parent / "shared" / "models" / "splade-tiny"


def timed_encode(encoder: Any, records: list, workers: int, chunk: int, folder: Path):
    """Seconds to encode ``records`` on ``workers`` actors (started and warmed up first), and
    the vectors written."""
    from lsr.distributed import RayChunkPool

    with RayChunkPool(encoder, "documents", workers=workers, threads=1) as pool:
        warm = records[: chunk * workers]
        encode_to_parquet(encoder, warm, folder / "warm.parquet", chunk_size=chunk, pool=pool,
                          progress=False)  # fmt: skip
        start = time.perf_counter()
        out = encode_to_parquet(encoder, records, folder / f"docs-{workers}.parquet",
                                chunk_size=chunk, pool=pool, progress=False)  # fmt: skip
        return time.perf_counter() - start, read_vectors(out)


def measure(options: dict[str, Any]) -> dict[str, Any]:
    import ray

    encoder = load(options["model"])
    records = list(islice(iter_texts(options["corpus"]), options["n_docs"]))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ray-encode-") as folder:
            runs = {w: timed_encode(encoder, records, w, options["chunk_size"], Path(folder))
                    for w in (1, 2)}  # fmt: skip
    finally:
        ray.shutdown()
    one, two = runs[1][1], runs[2][1]
    same = one.ids == two.ids and all(
        np.array_equal(a, b) for a, b in ((one.indptr, two.indptr), (one.indices, two.indices),
                                          (one.values, two.values))
    )  # fmt: skip
    rates = {w: len(records) / seconds for w, (seconds, _) in runs.items()}
    return {
        "n_docs": len(records),
        "seconds": {w: seconds for w, (seconds, _) in runs.items()},
        "docs_per_second": rates,
        "ratio": rates[2] / rates[1],
        "identical": same,
    }


def markdown(payload: dict[str, Any]) -> str:
    result = payload["result"]
    rows = "\n".join(
        f"| {w} | {result['seconds'][w]:.1f} | {result['docs_per_second'][w]:.1f} |" for w in (1, 2)
    )
    return (
        f"# lsr encode --ray: 1 and 2 workers\n\n{provenance.markdown(payload['provenance'])}\n"
        f"Load average before / after: {payload['load_before']} / {payload['load_after']}\n\n"
        f"{result['n_docs']:,} documents of {payload['options']['corpus']} encoded by "
        f"{payload['options']['model']}, chunks of {payload['options']['chunk_size']}, one torch "
        "thread per worker, local Ray runtime of 2 CPUs.\n\n"
        "| workers | seconds | documents/s |\n|---|---|---|\n"
        f"{rows}\n\n2 workers / 1 worker: **{result['ratio']:.2f}x** (target 1.7x); vectors "
        f"identical: {result['identical']}\n"
    )


@click.command()
@click.option("--model", default=str(SPLADE_TINY), show_default=True)
@click.option(
    "--corpus", default=str(ROOT.parent / "shared" / "data" / "scifact"), show_default=True
)
@click.option("--n-docs", type=int, default=2000, show_default=True)
@click.option("--chunk-size", type=int, default=100, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), default=ROOT / "reports" / "bench-ray-encode"
)
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(out: Path, allow_dirty: bool, **options: Any) -> None:
    """Throughput of lsr encode --ray with 1 and 2 workers (one run)."""
    text = provenance.measure_and_report(
        "benchmarks.ray_encode", out, allow_dirty, options, measure, markdown
    )
    click.echo(text)


if __name__ == "__main__":
    provenance.run_main(main)
