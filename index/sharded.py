"""A sharded index: the collection split into N Seismic indexes, built in parallel, searched as one.

One machine builds and searches a collection faster when it is split (each shard's build is a
separate process; each shard's search a separate thread, the kernels release the GIL), and a
collection larger than one machine is split the same way across machines.

Partition: a document goes to shard ``crc32(utf-8 id) mod N`` (:func:`shard_of`): stable across
runs, machines and Python versions (unlike ``hash()``), independent of the file's order, so a
document's shard is known from its id alone. Within a shard documents keep their file order.

Search fans a query out to every shard (:class:`ShardedIndex`, one thread per shard) and keeps the
k best of the shards' top-k with :func:`index.segmented.merge_top_k` (one query's:
:func:`~index.segmented.merge_row`), the merge of a living index's segments: the global top-k is
a subset of the union of the shards' top-k, so with exact settings (no pruning, no block
skipping) the sharded index returns exactly the exact top-k. A shard is a segment that has no
deletions: :class:`ShardedIndex` is a :class:`~index.segmented.SegmentedIndex` whose segments
are searched concurrently.

Directory layout::

    INDEX_DIR/shards.json        FORMAT: partition, metadata, config, and per shard
                                 {name, path, n_docs, checksum of its manifest.json}
    INDEX_DIR/shard-000/ ...     a SeismicIndex directory (index.persist)

A shard's ``manifest.json`` holds the checksums of its arrays, so the checksum of the manifest in
``shards.json`` pins every file of the shard: a shard replaced or damaged is named on opening.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from functools import cached_property
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from lsr.index import persist
from lsr.index.commit import Commit, SegmentEntry
from lsr.index.config import BuildConfig, SearchDefaults
from lsr.index.fanout import FanOut
from lsr.index.living import segment_config
from lsr.index.segmented import SegmentedIndex, T

from lsr.atomic import write_directory_atomic, write_json_atomic
from lsr.errors import IndexFormatError, InputError
from lsr.fingerprint import file_hash
from lsr.vectors import SparseCollection

SHARDS_FILE = "shards.json"
FORMAT = "lsr-sharded-index"
FORMAT_VERSION = 1
PARTITION = "crc32(utf-8 id) mod n_shards"

#: Runs a function on each task (a shard's build) somewhere, yielding each result as it ends.
RunShards = Callable[[Callable[[Any], int], list[Any]], Iterable[int]]


def shard_of(doc_ids: Iterable[str], n_shards: int) -> np.ndarray:
    """The shard of each id: ``crc32(id.encode("utf-8")) % n_shards`` (see the module
    docstring)."""
    return np.fromiter(
        (zlib.crc32(doc_id.encode("utf-8")) % n_shards for doc_id in doc_ids), dtype=np.int64
    )


def is_sharded(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` holds a sharded index."""
    return (Path(directory) / SHARDS_FILE).is_file()


def shard_name(shard: int) -> str:
    return f"shard-{shard:03d}"


# -- build ----------------------------------------------------------------------------------------


def build_sharded(
    vectors: str | os.PathLike,
    index_dir: str | os.PathLike,
    n_shards: int,
    config: BuildConfig | None = None,
    search_defaults: SearchDefaults | None = None,
    jobs: int = 1,
    threads: int | None = None,
    progress: bool = False,
    run: RunShards | None = None,
) -> dict[str, Any]:
    """Split the Parquet vector file ``vectors`` into ``n_shards`` shards and build a Seismic
    index of each, ``jobs`` at a time in separate processes (each with ``threads`` Numba
    threads), into ``index_dir`` (replaced atomically, whole). Returns the written
    ``shards.json``.

    ``run``: where the shards are built instead of local processes; it calls the function it is
    given on each task and yields as each finishes (:func:`lsr.distributed.ray_tasks`: as Ray
    tasks, which write into ``index_dir``'s temporary folder, so on a cluster it must be on a
    file system every node sees). A shard's index depends only on its vectors and settings, so
    every ``run`` writes the same arrays.

    A shard keeps its share of ``config.n_postings`` (:func:`index.living.segment_config`, as a
    living index's segments do): the shards' lists together hold what the single index's would.
    Given whole to every shard, the budget would keep up to N times the postings (at 1M
    synthetic documents and n_postings 3500 a 500k shard would keep 87% of its entries where
    the single index keeps 44%), and each shard would score about as many documents per query
    as the single index. ``shards.json`` records ``config`` as given, each shard's manifest its
    own."""
    if isinstance(n_shards, bool) or not isinstance(n_shards, int) or n_shards < 1:
        raise InputError(f"n_shards must be a positive integer, got {n_shards!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InputError(f"jobs must be a positive integer, got {jobs!r}")
    config = config or BuildConfig()
    search_defaults = search_defaults or SearchDefaults()
    written: dict[str, Any] = {}

    def fill(tmp: Path) -> None:
        parts = tmp / ".parts"
        metadata, counts = _partition(Path(vectors), parts, n_shards, progress)
        empty = [shard_name(s) for s, count in enumerate(counts) if count == 0]
        if empty:
            raise InputError(
                f"--shards {n_shards}: {empty[0]} would hold no document of {vectors} "
                f"({sum(counts)} documents); use fewer shards"
            )
        tasks = [
            (parts / f"{shard_name(s)}.parquet", tmp / shard_name(s),
             segment_config(config, count, sum(counts)), search_defaults, threads)
            for s, count in enumerate(counts)
        ]  # fmt: skip
        list(_progress((run or _local(jobs))(build_shard, tasks), n_shards, progress))
        shutil.rmtree(parts)
        manifest = _manifest(tmp, metadata, config, search_defaults, counts)
        write_json_atomic(tmp / SHARDS_FILE, manifest)
        written.update(manifest)

    write_directory_atomic(index_dir, fill)
    return written


def _partition(vectors: Path, parts: Path, n_shards: int, progress: bool) -> tuple[Any, list[int]]:
    """Stream ``vectors`` into one Parquet file per shard; the metadata and each shard's size."""
    from lsr.vector_io import VectorWriter, iter_vectors, read_metadata

    metadata = read_metadata(vectors)
    with ExitStack() as stack:
        writers = [
            stack.enter_context(VectorWriter(parts / f"{shard_name(s)}.parquet", metadata))
            for s in range(n_shards)
        ]
        for batch in _progress(iter_vectors(vectors), None, progress, "partitioning"):
            shards = shard_of(batch.ids, n_shards)
            for s, writer in enumerate(writers):
                rows = np.flatnonzero(shards == s)
                if len(rows):
                    writer.write(_take(batch, rows))
        counts = [writer.count for writer in writers]
    return metadata, counts


def _take(collection: SparseCollection, rows: np.ndarray) -> SparseCollection:
    """The rows ``rows`` of ``collection``, in that order."""
    starts = collection.indptr[rows]
    lengths = collection.indptr[rows + 1] - starts
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
    ids = [collection.ids[r] for r in rows.tolist()]
    return SparseCollection.from_csr(
        ids, indptr, collection.indices[flat], collection.values[flat], collection.metadata
    )


def _local(jobs: int) -> RunShards:
    """Shard builds in ``jobs`` local processes."""

    def run(function: Callable[[Any], int], tasks: list[Any]) -> Iterator[int]:
        # spawn: a forked child would inherit the parent's Numba thread pool, which is not
        # fork-safe once started.
        workers = min(jobs, len(tasks))
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            yield from pool.map(function, tasks)

    return run


def build_shard(task: tuple[Path, Path, BuildConfig, SearchDefaults, int | None]) -> int:
    """Build and save one shard's index (runs in a worker process)."""
    import numba
    from lsr.index.seismic import SeismicIndex

    vectors, directory, config, search_defaults, threads = task
    if threads is not None:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    built = SeismicIndex.build_from_file(vectors, config, search_defaults=search_defaults)
    built.save(directory)
    return len(built)


def _manifest(tmp: Path, metadata, config, search_defaults, counts: Sequence[int]) -> dict:
    shards = [
        {
            "name": shard_name(s),
            "path": shard_name(s),
            "n_docs": count,
            "checksum": file_hash(tmp / shard_name(s) / persist.MANIFEST),
        }
        for s, count in enumerate(counts)
    ]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "partition": PARTITION,
        "n_docs": sum(counts),
        "vector_metadata": metadata.to_json(),
        "config": config.to_json(),
        "search_defaults": search_defaults.to_json(),
        "shards": shards,
    }


def _progress(items, total: int | None, progress: bool, what: str = "shards built"):
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc=what, unit="shard" if total else "batch")


# -- search ---------------------------------------------------------------------------------------


class ShardedIndex(SegmentedIndex):
    """The shards of a sharded index searched as one index, a thread per shard (read-only).

    It answers every call of :class:`~index.segmented.SegmentedIndex` (``search``,
    ``search_batch``, ``exact()``, ``doc_ids``...); only the fan-out runs concurrently.
    """

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike,
        verify: bool = False,
        only: int | None = None,
        mmap: bool = True,
    ) -> ShardedIndex:
        """Open the shards of ``directory``, memory-mapped unless ``mmap`` is False; each
        shard's manifest is checked against ``shards.json`` (``verify``: every file's checksum
        too). ``only``: that shard alone (its positions then start at 0), as one machine of a
        distributed service holds it."""
        directory = Path(directory)
        manifest = read_shards(directory)
        if only is not None and not 0 <= only < len(manifest["shards"]):
            raise InputError(f"{directory}: no shard {only} (it has {len(manifest['shards'])})")
        entries = []
        for number, shard in enumerate(manifest["shards"]):
            if only is not None and number != only:
                continue
            _check_shard(directory, shard)
            entries.append(SegmentEntry(shard["name"], shard["path"], "seismic", shard["n_docs"]))
        commit = Commit(
            0, tuple(entries), manifest["vector_metadata"], manifest["config"],
            manifest["search_defaults"], len(entries),
        )  # fmt: skip
        return cls.of_commit(directory, commit, verify=verify, mmap=mmap)

    @cached_property
    def _fan_out(self) -> FanOut:
        """Threads for every shard but the first, which the calling thread searches itself."""
        return FanOut("lsr-shard")

    @property
    def stats(self) -> dict[str, Any]:
        return {**super().stats, "partition": PARTITION}

    def _each_part(self, search: Callable[[int], T]) -> list[T]:
        """Every shard searched at once, each skipping against the best k-th score any of them
        holds so far (:mod:`index.shared_bound`). The calling thread searches the first shard
        while workers search the others: it would otherwise only wait, and one
        thread fewer is woken per search. The hand-off is :class:`~index.fanout.FanOut`'s, not
        a ``ThreadPoolExecutor``'s (a cheaper wake-up: the module's docstring)."""
        return self._fan_out.map(search, len(self.parts))


def read_shards(directory: Path) -> dict[str, Any]:
    """The ``shards.json`` of ``directory``, checked for the fields readers use."""
    path = directory / SHARDS_FILE
    manifest = _read_json(path)
    persist.check_format(
        manifest, path, (FORMAT, FORMAT_VERSION), "the manifest of an lsr sharded index"
    )
    for field in ("vector_metadata", "config", "search_defaults", "shards"):
        if field not in manifest:
            raise IndexFormatError(f"{path}: missing field {field!r}")
    for number, shard in enumerate(manifest["shards"]):
        missing = {"name", "path", "n_docs", "checksum"} - set(shard)
        if missing:
            raise IndexFormatError(f"{path}: shards[{number}] lacks {sorted(missing)[0]!r}")
    return manifest


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IndexFormatError(f"{path}: unreadable ({exc})") from None


def _check_shard(directory: Path, shard: dict[str, Any]) -> None:
    """A shard whose manifest is missing or differs from the one built is named."""
    manifest = directory / shard["path"] / persist.MANIFEST
    if not manifest.is_file():
        raise IndexFormatError(f"{directory}: shard {shard['name']} is missing ({manifest})")
    if file_hash(manifest) != shard["checksum"]:
        raise IndexFormatError(
            f"{directory}: shard {shard['name']} is damaged or replaced: {manifest} differs "
            f"from the checksum in {SHARDS_FILE}"
        )
