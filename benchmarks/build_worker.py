"""One index build in a fresh process, so that its time and peak memory are its own.

``tracemalloc`` sees neither Numba's nor Rust's allocations, so peak memory is the kernel's
high-water mark of resident memory (``VmHWM``), reset through ``/proc/self/clear_refs`` right
before the build: it counts the input vectors the build holds plus everything it allocates.
``input_rss_bytes`` (the resident size just before the build) tells the two apart. Each system
builds as its users do: ours from the Parquet file, streamed (``lsr index build``), the peer
from the collection in memory (its Python API takes a dataset it holds).

Run by :func:`run_build`; the child prints one ``RESULT <json>`` line, and the peer's own log
(its space-usage report included) on the same stdout.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULT_PREFIX = "RESULT "


def run_build(
    kind: str, vectors: Path, params: dict[str, Any], out: Path, threads: int = 1
) -> dict[str, Any]:
    """Build a ``kind`` ("ours" or "peer") index of ``vectors`` into ``out`` in a subprocess.

    Returns build time, peak and input memory, the saved index's path and size, and for the peer
    the byte counts it reports about itself (``space``).
    """
    env = {
        **os.environ,
        "NUMBA_NUM_THREADS": str(threads),
        "RAYON_NUM_THREADS": str(threads),
        "OMP_NUM_THREADS": str(threads),
    }
    command = [sys.executable, "-m", "benchmarks.build_worker", kind, str(vectors)]
    command += [json.dumps(params), str(out), str(threads)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    result = json.loads(lines[-1][len(RESULT_PREFIX) :])
    if kind == "peer":
        from benchmarks.peer_seismic import parse_space_usage

        result["space"] = parse_space_usage(done.stdout)
    return result


def _memory_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> int:
    """Restart the peak-memory count; returns the resident bytes at that moment."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")
    return _memory_kb("VmRSS") * 1024


def _clocks() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), usage.ru_utime + usage.ru_stime


def _elapsed(start: tuple[float, float]) -> tuple[float, float]:
    """Wall and CPU seconds since ``start``. On a shared machine the CPU time of a one-thread
    build is the steadier measure: waiting for a core counts in wall time only."""
    wall, cpu = _clocks()
    return wall - start[0], cpu - start[1]


def path_bytes(path: Path) -> int:
    """Size of a file, or of every file under a directory."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _build_ours(vectors: Path, params: dict[str, Any], out: Path, threads: int):
    from lsr.index import BuildConfig, SeismicIndex

    from lsr.vector_io import iter_vectors

    # Numba compiles (or loads from its cache) on the first call: not build work, so a tiny
    # build takes it out of the measurement, as the peer arrives compiled.
    first = next(iter(iter_vectors(vectors, batch_size=200)))
    SeismicIndex.build(first, BuildConfig(**params))
    del first
    input_bytes = _reset_peak()
    start = _clocks()
    index = SeismicIndex.build_from_file(vectors, BuildConfig(**params))
    seconds = _elapsed(start)

    def save() -> Path:
        index.save(out)
        return out

    return input_bytes, seconds, save


def _build_peer(vectors: Path, params: dict[str, Any], out: Path, threads: int):
    from benchmarks.peer_seismic import PeerSeismic
    from lsr.vector_io import read_vectors

    collection = read_vectors(vectors)
    input_bytes = _reset_peak()
    dataset = PeerSeismic.dataset(collection)  # its copy of the input: part of its peak
    start = _clocks()
    index = PeerSeismic.build_from(dataset, params, threads)
    seconds = _elapsed(start)

    def save() -> Path:
        index.index.print_space_usage_byte()
        return index.save(out)

    return input_bytes, seconds, save


BUILDERS = {"ours": _build_ours, "peer": _build_peer}


def main(kind: str, vectors: str, params_json: str, out: str, threads: str) -> None:
    """Build, then report; the peak is read before saving, which may allocate buffers."""
    input_bytes, seconds, save = BUILDERS[kind](
        Path(vectors), json.loads(params_json), Path(out), int(threads)
    )
    peak_kb = _memory_kb("VmHWM")
    path = save()
    result = {
        "build_s": seconds[0],
        "build_cpu_s": seconds[1],
        "peak_rss_bytes": peak_kb * 1024,
        "input_rss_bytes": input_bytes,
        "path": str(path),
        "index_bytes": path_bytes(path),
    }
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
