"""The ``lsr`` command line: a thin layer that parses, validates, shows progress and calls the
library functions the tests call too.

The CLI is the top layer: it imports every part directly, and nothing below it imports the CLI.
Subcommands load lazily, so ``lsr --help`` imports no torch.
"""

from __future__ import annotations

import importlib
import sys

import click

from lsr.errors import LsrError

# name -> (module:attribute, one-line help shown by `lsr --help` without importing the module)
COMMANDS = {
    "vectors": (
        "lsr.cli.vectors:vectors",
        "Convert sparse-vector files and print their statistics.",
    ),
    "index": ("lsr.cli.index:index", "Build, inspect and search a Seismic inverted index."),
    "encode": (
        "lsr.cli.encode:encode",
        "Encode a corpus or queries into sparse vectors (Parquet).",
    ),
    "eval": (
        "lsr.cli.eval:eval_command",
        "Evaluate models on BEIR collections: runs, trec_eval metrics, reports.",
    ),
    "serve": ("lsr.cli.serve:serve", "Serve an index over HTTP: search API and search page."),
    "train": (
        "lsr.cli.train:train",
        "Train a sparse encoder (SPLADE, inference-free) with sparsity regularizers.",
    ),
    "soup": (
        "lsr.cli.soup:soup",
        "Average fine-tuned models' weights into one model (a model soup).",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when they run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lsr")
def cli() -> None:
    """lsr: learned sparse retrieval.

    Encode a corpus into sparse vectors, index them with a Seismic inverted index, search, and
    evaluate on BEIR collections:

    Models are Hugging Face folders or hub ids; datasets are BEIR folders (corpus.jsonl,
    queries.jsonl, qrels/), names found under --data-dir or $LSR_DATA, or ir-datasets ids:

    \b
      lsr encode --model naver/splade-v3 --corpus beir/scifact --out docs.parquet
      lsr encode --model naver/splade-v3 --queries beir/scifact/test --out queries.parquet
      lsr index build docs.parquet scifact.index
      lsr index search scifact.index queries.parquet --k 10 --out run.trec
      lsr eval --model naver/splade-v3 --dataset path/to/beir/scifact
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
