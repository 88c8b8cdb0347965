"""Work on Ray: encoding on an actor pool (``lsr encode ... --ray [ADDRESS] --workers N``),
and a sharded index's shards built as Ray tasks (``lsr index build --shards N --ray``,
:func:`ray_tasks`).

:func:`lsr.encoding.encode_to_parquet` cuts the corpus into chunks and writes each finished
chunk as its own Parquet file beside a manifest, so a rerun encodes only the missing chunks;
:class:`RayChunkPool` hands the missing chunks to ``workers`` Ray actors, each holding one copy
of the encoder (saved here, sent as bytes, loaded there: :func:`pack`), at most one chunk per
actor in flight. The finished vectors come back through
Ray's object store and this process writes them, so the workers need no shared file system: an
address of an existing cluster (``ray start --head`` on another machine) works as a local one.

Every actor encodes with ``threads`` torch threads (and asks Ray for as many CPUs): the same
encoder on the same number of threads gives bit-identical vectors, so a Ray run equals a
single-process ``lsr encode --threads`` of the same value. With ``gpus_per_worker`` > 0 each
actor asks Ray for that share of a GPU and loads its encoder on ``cuda`` (the GPU Ray assigned
it); GPU kernels differ from CPU ones in the last bits, so those vectors are close to, not equal
to, a CPU run's. An actor that dies (a killed worker,
a lost machine) is restarted and its chunk retried (``max_restarts``, ``max_task_retries``).

Ray is imported here only, and only when a pool is made: ``lsr`` itself never needs it
(``pip install lsr[ray]``).
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from lsr.encoders.base import Encoder
from lsr.encoding import encode_side
from lsr.errors import InputError
from lsr.vectors import SparseCollection

#: Restarts of a dead actor, and retries of the chunk it held.
RETRIES = 3


def pack(encoder: Encoder) -> bytes:
    """The encoder as saved by ``encoder.save`` (its folder, ``lsr.json`` with every option and
    what it fitted), as the bytes of a tar archive: what every worker loads, on any machine."""
    with tempfile.TemporaryDirectory(prefix="lsr-encoder-") as folder:
        encoder.save(Path(folder) / "encoder")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(Path(folder) / "encoder", arcname="encoder")
        return buffer.getvalue()


def unpack(packed: bytes, device: str | None = None) -> Encoder:
    """The encoder :func:`pack` packed, loaded (on ``device`` if given; the folder is removed
    once loaded)."""
    from lsr.encoders import load

    options = {} if device is None else {"device": device}
    with tempfile.TemporaryDirectory(prefix="lsr-encoder-") as folder:
        with tarfile.open(fileobj=io.BytesIO(packed), mode="r") as archive:
            archive.extractall(folder, filter="data")
        return load(str(Path(folder) / "encoder"), **options)


class EncoderActor:
    """One Ray worker's encoder (made a Ray actor class by :class:`RayChunkPool`)."""

    def __init__(self, packed: bytes, side: str, threads: int, device: str | None) -> None:
        from lsr.threads import use_torch_threads

        use_torch_threads(threads)
        self.encoder, self.side = unpack(packed, device), side

    def encode(self, texts: list[str], ids: list[str]) -> SparseCollection:
        return encode_side(self.encoder, texts, ids, self.side)


class RayChunkPool:
    """Chunks encoded by ``workers`` actors on the Ray runtime at ``address`` (``None``: the
    one this process already joined, else a new local one); use as a context manager."""

    def __init__(
        self,
        encoder: Encoder,
        side: str,
        workers: int = 2,
        threads: int = 1,
        address: str | None = None,
        gpus_per_worker: float = 0,
    ) -> None:
        for name, value in (("workers", workers), ("threads", threads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"--{name} must be a positive integer, got {value!r}")
        if isinstance(gpus_per_worker, bool) or not gpus_per_worker >= 0:
            raise InputError(f"--gpus-per-worker must be 0 or more, got {gpus_per_worker!r}")
        import ray

        self._ray = ray
        self._joined = not ray.is_initialized()
        if self._joined:
            ray.init(address=address or None, include_dashboard=False, log_to_driver=False)
        if gpus_per_worker:
            self._check_gpus(gpus_per_worker)
        actor_class = ray.remote(
            num_cpus=threads,
            num_gpus=gpus_per_worker,
            max_restarts=RETRIES,
            max_task_retries=RETRIES,
        )(EncoderActor)
        device = "cuda" if gpus_per_worker else None
        # Held for the pool's life: a restarted actor reads it again (once the last reference
        # is gone, Ray deletes the object and a restart fails).
        self._packed = ray.put(pack(encoder))
        # What the vectors say of their model: this process's encoder, not a worker's copy
        # (whose folder is a temporary one).
        self._metadata = encode_side(encoder, [], [], side).metadata
        #: The actor handles (Ray's, to inspect or kill one).
        self.actors = [
            actor_class.remote(self._packed, side, threads, device) for _ in range(workers)
        ]
        self._free = list(self.actors)
        self._pending: dict[Any, tuple[Path, Any]] = {}
        #: Chunks handed to the actors (what a resumed run had left to do).
        self.submitted = 0

    def _check_gpus(self, gpus_per_worker: float) -> None:
        """An actor asking for more GPUs than the runtime has would wait for ever: refused."""
        available = self._ray.cluster_resources().get("GPU", 0)
        if gpus_per_worker > available:
            if self._joined:
                self._ray.shutdown()
            raise InputError(
                f"--gpus-per-worker {gpus_per_worker:g}: the Ray runtime has {available:g} GPUs"
            )

    def submit(
        self, part: Path, texts: list[str], ids: list[str]
    ) -> Iterator[tuple[Path, SparseCollection]]:
        if not self._free:
            yield self._next_done()
        actor = self._free.pop()
        self._pending[actor.encode.remote(texts, ids)] = (part, actor)
        self.submitted += 1

    def drain(self) -> Iterator[tuple[Path, SparseCollection]]:
        while self._pending:
            yield self._next_done()

    def abandon(self) -> None:
        """Let the chunks in flight finish and drop them: the actors are free for the next run."""
        self._ray.wait(list(self._pending), num_returns=len(self._pending))
        self._free.extend(actor for _, actor in self._pending.values())
        self._pending.clear()

    def _next_done(self) -> tuple[Path, SparseCollection]:
        (ready,), _ = self._ray.wait(list(self._pending), num_returns=1)
        part, actor = self._pending.pop(ready)
        self._free.append(actor)
        return part, replace(self._ray.get(ready), metadata=self._metadata)

    def close(self) -> None:
        """Stop the actors, and the Ray runtime if this pool started or joined it."""
        for actor in self.actors:
            self._ray.kill(actor)
        if self._joined:
            self._ray.shutdown()

    def __enter__(self) -> RayChunkPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextmanager
def ray_tasks(
    address: str | None = None, cpus: int = 1
) -> Iterator[Callable[[Callable[[Any], Any], list[Any]], Iterator[Any]]]:
    """A runner of calls as Ray tasks on the runtime at ``address`` (``None``: the one this
    process joined, else a new local one, shut down on exit): ``run(function, tasks)`` starts
    ``function(task)`` for every task, each asking Ray for ``cpus`` CPUs (Ray starts as many at
    once as the runtime's CPUs allow, and retries a task whose worker died), and yields the
    results as they finish. :func:`index.sharded.build_sharded` builds its shards with it."""
    import ray

    joined = not ray.is_initialized()
    if joined:
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False)

    def run(function: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
        remote = ray.remote(num_cpus=cpus, max_retries=RETRIES)(function)
        pending = [remote.remote(task) for task in tasks]
        while pending:
            (ready,), pending = ray.wait(pending, num_returns=1)
            yield ray.get(ready)

    try:
        yield run
    finally:
        if joined:
            ray.shutdown()
