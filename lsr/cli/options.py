"""Options shared by several commands, defined once so that they read the same everywhere."""

from __future__ import annotations

from collections.abc import Callable

import click


def threads_option(what: str) -> Callable:
    """``--threads N`` (at least 1; default: every core this process may use)."""
    return click.option(
        "--threads",
        type=click.IntRange(min=1),
        default=None,
        show_default="all cores",
        help=f"CPU threads for {what}.",
    )


def ray_option(what: str) -> Callable:
    """``--ray [ADDRESS]`` (``ray_address``: None without it, "" alone for a local runtime, the
    address of a cluster to join); ``what`` says what runs on Ray."""
    return click.option(
        "--ray",
        "ray_address",
        is_flag=False,
        flag_value="",
        default=None,
        help=f"{what} (pip install lsr[ray]): --ray alone starts a local Ray runtime, --ray "
        "ADDRESS joins a cluster (e.g. 10.0.0.5:6379), whose nodes must all see the files named "
        "here.",
    )
