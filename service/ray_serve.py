"""``lsr serve INDEX_DIR --ray [ADDRESS]``: a sharded index served on Ray Serve.

Each shard of the index (``lsr index build --shards N``) is a Ray Serve deployment,
:class:`ShardReplica` (``replicas`` copies each), that memory-maps that shard alone and searches
it. The ingress is the service's own FastAPI app (:func:`lsr.service.app.create_app`, through
Ray Serve's FastAPI integration, built on its replica), so the API, its validation, its errors
and its metrics are the single-process server's: it encodes a query once and hands the query
vector to every shard's deployment, whose top-k come back and are merged exactly as the
in-process fan-out merges them (:func:`index.segmented.merge_top_k` over global positions: a
shard's position plus the documents of the shards before it). The ingress maps the index
too, for what answers need besides the search: document ids, and the stored vectors that
``explain`` reads; the postings and summaries are read by the shards' replicas only.

Each shard's replica searches alone: the threads of the in-process fan-out share the k-th best
score of all their heaps (:mod:`index.shared_bound`) and may skip blocks that a replica,
another process, searches, so where pruning decides the two can differ (a replica skips less).

Ray (``pip install lsr[ray]``) is imported inside the functions only.
"""

from __future__ import annotations

import os
import signal
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from lsr.index.segmented import merge_top_k
from lsr.index.sharded import ShardedIndex, is_sharded, read_shards, shard_name
from lsr.service.settings import Settings

from lsr.errors import InputError

#: The Ray Serve application's name (its deployments are ``shard-000`` ... and ``ingress``).
APP = "lsr"
#: CPUs a replica asks Ray for: a share, so that the ingress and a shard's replicas fit on a
#: 2-core machine's local runtime; Ray schedules by these, the kernels take what is free.
CPUS = 0.5
#: Seconds Ray Serve's controller gives its HTTP proxy to answer the first readiness check
#: (Ray's default: 5). On a busy machine a proxy can take longer to start; the controller then
#: kills it and ``serve.start`` fails with ``ActorDiedError`` (seen on 2 cores at load 5, where
#: everything else started). A local runtime inherits this process's environment, so the
#: setting reaches the controller; a value the user set is kept.
PROXY_READY_ENVIRONMENT = "RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S"
PROXY_READY_SECONDS = "60"


class ShardReplica:
    """One shard, memory-mapped, searched for the ingress (a Ray Serve deployment's class)."""

    def __init__(self, index_dir: str, number: int) -> None:
        self.index = ShardedIndex.load(index_dir, only=number)

    def search(
        self, queries: Any, params: Any, filter_: Any, adapt: bool, exact: bool
    ) -> tuple[Any, Any]:
        """The shard's top-k (positions within the shard, scores) of ``queries``."""
        index = self.index.exact() if exact else self.index
        return index._run(queries, params, filter_, adapt)


class RayShardedIndex(ShardedIndex):
    """The sharded index whose fan-out goes to the shards' deployments (``handles``, in shard
    order) instead of threads; everything else is :class:`ShardedIndex`'s."""

    handles: list[Any]

    def exact(self) -> RayShardedIndex:
        exact = super().exact()
        exact.handles = self.handles
        return exact

    def _run(self, queries, params, filter_, adapt):
        asked = [
            h.search.remote(queries, params, filter_, adapt, self.is_exact) for h in self.handles
        ]
        found = []
        for part, response in zip(self.parts, asked):
            docs, scores = response.result()
            found.append((np.where(docs >= 0, docs + part.offset, -1), scores))
        return merge_top_k(found, len(queries), params.k)


def open_on_ray(directory: Path, served: Path, app_name: str = APP) -> RayShardedIndex:
    """The index ``served`` with the handles of its shards' deployments (the opener of the
    ingress's app; a reload reopens ``served``: its deployments map no other directory)."""
    from ray import serve

    if Path(directory).resolve() != served.resolve():
        raise InputError(
            f"served on Ray, this service reopens {served} only; deploy {directory} with its own "
            "lsr serve --ray"
        )
    index = RayShardedIndex.load(served)
    index.handles = [
        serve.get_deployment_handle(shard_name(number), app_name)
        for number in range(len(index.parts))
    ]
    return index


def application(settings: Settings, replicas: int = 1, cpus: float = CPUS) -> Any:
    """The Ray Serve application: a deployment per shard (``replicas`` each), and the ingress
    (the service's app, built on its replica, given the shards' handles by name); every replica
    asks Ray for ``cpus`` CPUs."""
    from lsr.service.app import create_app
    from ray import serve

    directory = Path(settings.index_dir)
    if not is_sharded(directory):
        raise InputError(f"{directory}: --ray serves a sharded index (lsr index build --shards N)")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise InputError(f"--replicas must be a positive integer, got {replicas!r}")
    if not cpus > 0:
        raise InputError(f"--cpus-per-replica must be above 0, got {cpus!r}")
    options = {"num_cpus": cpus}
    shards = [
        serve.deployment(
            ShardReplica, name=shard["name"], num_replicas=replicas, ray_actor_options=options
        ).bind(str(directory), number)
        for number, shard in enumerate(read_shards(directory)["shards"])
    ]
    opener = partial(open_on_ray, served=directory, app_name=APP)

    def build() -> Any:  # Ray Serve calls a function (not a partial) on the ingress replica
        return create_app(settings, opener)

    ingress = serve.deployment(
        serve.ingress(build)(_Ingress), name="ingress", ray_actor_options=options
    )
    return ingress.bind(*shards)


class _Ingress:
    """The ingress deployment's class: the app does the work; the shards' handles are bound
    to it so that Ray Serve deploys them with it (the app reaches them by name)."""

    def __init__(self, *shards: Any) -> None:
        self.shards = shards


def run(
    settings: Settings,
    host: str,
    port: int,
    replicas: int = 1,
    address: str | None = None,
    cpus: float = CPUS,
) -> None:
    """Deploy :func:`application` on the Ray runtime at ``address`` (``None``: a new local one)
    with Ray Serve's HTTP proxy on ``host:port``, and serve until SIGTERM or Ctrl-C; then the
    application, Ray Serve and a runtime started here are shut down."""
    import ray
    from ray import serve

    app = application(settings, replicas, cpus)
    os.environ.setdefault(PROXY_READY_ENVIRONMENT, PROXY_READY_SECONDS)
    ray.init(address=address or None, include_dashboard=False, log_to_driver=False)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        serve.start(http_options={"host": host, "port": port})
        serve.run(app, name=APP, route_prefix="/", blocking=True)
    except KeyboardInterrupt:
        pass
    finally:
        serve.shutdown()
        ray.shutdown()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
