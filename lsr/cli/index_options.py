"""Options of the commands that open or build an index (``lsr index``, ``lsr serve``), kept apart
from :mod:`lsr.cli.options` because they read the index's config, which imports Numba: the other
commands start without it."""

from __future__ import annotations

from collections.abc import Callable

import click

from lsr.index.config import ENGINES, BuildConfig


def engine_option(default: str | None = None, stored: str = "") -> Callable:
    """``--engine auto|seismic|exact``; ``default`` None means the index's stored default."""
    shown = {"show_default": True} if default else {}
    suffix = stored or "[default: the index's stored search default]"
    return click.option(
        "--engine",
        type=click.Choice(ENGINES),
        default=default,
        help="auto: the faster of the index and exact search on this index (timed at build or by "
        "`lsr index tune`); seismic: the index; exact: exact search over the index's stored "
        f"weights. {suffix}",
        **shown,
    )


# Help of each BuildConfig field's option; defaults and types come from the dataclass.
BUILD_HELP = {
    "pruning": "global_threshold keeps the n_postings x vocabulary largest entries of the "
    "collection; fixed_size keeps the n_postings largest entries of every posting list.",
    "n_postings": "Postings kept per list (on average, for global_threshold).",
    "max_fraction": "global_threshold: no list keeps more than n_postings x max_fraction entries.",
    "centroid_fraction": "Blocks per list as a fraction of its length (clusters of the shallow "
    "k-means). 0.3 (blocks of ~3 documents) searched 200k-1M documents at 0.47-0.66x the latency "
    "for the same accuracy, for a ~1.1x larger index (index/config.py has the figures).",
    "min_cluster_size": "Clusters of at most this many documents are dissolved and reassigned.",
    "summary_energy": "Fraction of a block summary's L1 mass its kept entries must hold.",
    "doc_cut": "Entries of each document used to assign it to a centroid.",
    "value_dtype": "Storage type of the forward index's weights.",
    "knn": "Neighbours per document in the kNN graph (0: no graph).",
    "seed": "Seed of the clustering's random choice of centroids.",
}
BUILD_CHOICES = {
    "pruning": ("global_threshold", "fixed_size"),
    "value_dtype": ("float16", "float32"),
}


def build_config_options(command: Callable) -> Callable:
    """One ``--option`` per :class:`BuildConfig` field, typed and defaulted by the dataclass, so a
    new build parameter needs only its help line here."""
    for name, help_text in reversed(BUILD_HELP.items()):
        default = getattr(BuildConfig, name)
        kind = click.Choice(BUILD_CHOICES[name]) if name in BUILD_CHOICES else type(default)
        option = click.option(
            "--" + name.replace("_", "-"),
            type=kind,
            default=default,
            show_default=True,
            help=help_text,
        )
        command = option(command)
    return command
