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
