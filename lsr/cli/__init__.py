"""The ``lsr`` command line: a thin layer that parses, validates, shows progress and calls the
library functions the tests call too.

Subcommands load lazily (``lsr --help`` must not import torch), and other parts of the project
contribute theirs through the ``lsr.commands`` entry-point group, so that ``lsr`` never imports
``eval/`` or ``service/``.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points

import click

from lsr.errors import LsrError

# name -> (module:attribute, one-line help shown by `lsr --help` without importing the module)
BUILTIN_COMMANDS = {
    "vectors": (
        "lsr.cli.vectors:vectors",
        "Convert sparse-vector files and print their statistics.",
    ),
    "index": ("lsr.cli.index:index", "Build, inspect and search a Seismic inverted index."),
    "encode": (
        "lsr.cli.encode:encode",
        "Encode a corpus or queries into sparse vectors (Parquet).",
    ),
}


def _plugin_commands() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group="lsr.commands")}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when they run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*BUILTIN_COMMANDS, *_plugin_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in BUILTIN_COMMANDS:
            module, attribute = BUILTIN_COMMANDS[name][0].split(":")
            return getattr(importlib.import_module(module), attribute)
        plugin = _plugin_commands().get(name)
        return plugin.load() if plugin is not None else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in BUILTIN_COMMANDS:
                rows.append((name, BUILTIN_COMMANDS[name][1]))
            else:
                rows.append((name, _plugin_help(self, ctx, name)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _plugin_help(group: LazyGroup, ctx: click.Context, name: str) -> str:
    """A plugin's one-line help; a plugin that fails to import must not break `lsr --help`."""
    try:
        command = group.get_command(ctx, name)
    except Exception as exc:  # any import error of a third-party plugin
        return f"(unavailable: {exc})"
    return command.get_short_help_str() if command else ""


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lsr")
def cli() -> None:
    """lsr: learned sparse retrieval.

    Encode a corpus into sparse vectors, index them with a Seismic inverted index, search, and
    evaluate on BEIR collections:

    \b
      lsr encode --model ../shared/models/splade-tiny --corpus scifact --out docs.parquet
      lsr index build docs.parquet scifact.index
      lsr index search scifact.index queries.parquet --k 10 --out run.trec
      lsr eval --model ../shared/models/splade-tiny --dataset scifact
    """


def main() -> None:
    """Console entry point: our errors become one readable line and exit status 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except LsrError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
