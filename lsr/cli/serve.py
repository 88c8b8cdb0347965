"""``lsr serve``: the HTTP search service over an index (see ``lsr.service``)."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path

import click

from lsr.cli.index_options import engine_option
from lsr.cli.options import ray_option
from lsr.threads import available_cores


@click.command()
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--model",
    help="Query encoder (model folder or hub id) [default: the model recorded in the index's "
    "provenance; BM25 and inference-free indexes need the folder `lsr encode --save-model` wrote].",
)
@click.option(
    "--no-model",
    "vectors_only",
    is_flag=True,
    help="No query encoder: the service takes vector queries only (for vectors made elsewhere).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes; they share the memory-mapped index through the page cache.",
)
@click.option(
    "--api-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the API key that clients send as X-API-Key [default: $LSR_API_KEY; "
    "neither: no key]. Never on the command line, where `ps` would show it.",
)
@click.option("--exact", is_flag=True, help="Exact search over the index's forward index.")
@click.option(
    "--in-memory",
    is_flag=True,
    help="Read the index into each worker's memory instead of mapping its files: faster "
    "searches on large indexes (2 MiB pages for documents read at random; 1M synthetic "
    "documents: 0.86x the search time), but every worker holds its own copy and start-up "
    "reads the whole index. Not with --ray.",
)
@engine_option()
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    help="Origin allowed to call the API from a browser (repeat; '*' for any).",
)
@click.option(
    "--timeout", type=float, default=10.0, show_default=True, help="Per-request limit, seconds."
)
@click.option(
    "--max-body-bytes", type=int, default=1 << 20, show_default=True, help="Larger bodies: 413."
)
@click.option(
    "--max-query-tokens",
    type=int,
    default=128,
    show_default=True,
    help="Longest text query, in the encoder's tokens.",
)
@click.option(
    "--search-threads",
    type=int,
    default=available_cores(),
    show_default=True,
    help="Concurrent searches per process (default: the cores).",
)
@click.option(
    "--encode-threads",
    type=int,
    default=2,
    show_default=True,
    help="Queries encoded at once (each in its own thread).",
)
@click.option(
    "--torch-threads",
    type=int,
    default=1,
    show_default=True,
    help="torch threads per encoding (concurrent queries use the other cores).",
)
@click.option(
    "--log-queries", is_flag=True, help="Write query texts into the request log (off: private)."
)
@ray_option(
    "Serve a sharded index on Ray Serve, each shard a deployment holding its memory-mapped "
    "shard and this app the ingress that encodes once and fans out, with the same API; "
    "--workers does not apply, --replicas does"
)
@click.option(
    "--replicas",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="With --ray: replicas of each shard's deployment.",
)
@click.option(
    "--cpus-per-replica",
    type=click.FloatRange(min=0, min_open=True),
    default=0.5,
    show_default=True,
    help="With --ray: CPUs each replica (the ingress, every shard's) asks Ray for: Ray places "
    "replicas where these are free (a share lets several fit on one machine).",
)
def serve(
    index_dir: Path,
    host: str,
    port: int,
    workers: int,
    ray_address: str | None,
    replicas: int,
    cpus_per_replica: float,
    api_key_file: Path | None,
    cors_origins: tuple[str, ...],
    timeout: float,
    **options,
) -> None:
    """Serve INDEX_DIR over HTTP: search API, search page at /, OpenAPI at /docs.

    \b
      lsr serve scifact.index                     # model from the index's provenance
      lsr serve bm25.index --model bm25-scifact   # a saved BM25 encoder
      LSR_API_KEY=... lsr serve scifact.index --workers 2
    """
    import uvicorn

    from lsr.index.open import open_index
    from lsr.service.metrics import MULTIPROCESS_ENV
    from lsr.service.settings import SETTINGS_ENV, Settings
    from lsr.service.state import recorded_model

    # Fail here, once, on a directory that is not an index or an index without a query model,
    # rather than in every worker (opening maps the arrays: it reads only their headers).
    if options["model"] is None and not options["vectors_only"]:
        options["model"] = recorded_model(open_index(index_dir), index_dir)
    settings = Settings(
        index_dir=index_dir.resolve(),
        api_key_file=api_key_file.resolve() if api_key_file else None,
        cors_origins=cors_origins,
        request_timeout_s=timeout,
        **options,
    )
    if ray_address is not None:
        if settings.in_memory:
            raise click.UsageError("--in-memory is for one machine's workers, not with --ray")
        from lsr.service.ray_serve import run

        click.echo(
            f"serving {index_dir} on Ray Serve at http://{host}:{port} ({replicas} replica(s) "
            f"per shard); API key {'required' if settings.api_key else 'not set'}",
            err=True,
        )
        run(settings, host, port, replicas, ray_address or None, cpus_per_replica)
        return
    os.environ[SETTINGS_ENV] = settings.to_environment()
    if workers > 1:
        os.environ.setdefault(MULTIPROCESS_ENV, tempfile.mkdtemp(prefix="lsr-metrics-"))
    click.echo(
        f"serving {index_dir} on http://{host}:{port} ({workers} worker(s)); "
        f"API key {'required' if settings.api_key else 'not set'}",
        err=True,
    )
    uvicorn.run(
        "lsr.service.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="lsr.service.http:OneWriteProtocol",  # a response in one write, not two
        access_log=False,  # the app logs one line per request, without query strings
        log_config=log_config(),
    )


def log_config() -> dict:
    """uvicorn's logging configuration plus the service's own request logger."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["lsr.service"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config
