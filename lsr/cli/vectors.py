"""``lsr vectors``: convert between Parquet and Seismic JSONL, and print statistics."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lsr.errors import InputError


@click.group()
def vectors() -> None:
    """Sparse-vector files: Parquet (lsr's format) and JSONL (Seismic's format)."""


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    raise InputError(f"{path}: unknown extension {suffix!r}; expected .parquet or .jsonl")


@vectors.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("target", type=click.Path(path_type=Path))
@click.option(
    "--vocab",
    type=click.Path(exists=True, path_type=Path),
    help="Vocabulary (one token per line, e.g. a model folder's vocab.txt) mapping JSONL tokens to "
    "term ids. Without it, JSONL -> Parquet builds the vocabulary from the file's tokens.",
)
def convert(source: Path, target: Path, vocab: Path | None) -> None:
    """Convert SOURCE to TARGET; the formats follow the extensions (.parquet, .jsonl).

    JSONL lines are {"id": ..., "content": ..., "vector": {"token": weight, ...}}; Parquet to
    JSONL writes the tokens of the file's vocabulary, or term ids as text when it has none.
    """
    from lsr.vector_io import iter_vectors, read_jsonl, read_vocabulary, write_jsonl, write_vectors

    kinds = (_kind(source), _kind(target))
    vocabulary = read_vocabulary(vocab) if vocab else None
    if kinds == ("jsonl", "parquet"):
        collection = read_jsonl(source, vocabulary)
        write_vectors(target, collection)
        count = len(collection)
    elif kinds == ("parquet", "jsonl"):
        count = write_jsonl(target, iter_vectors(source))
    else:
        raise InputError(f"convert goes between .parquet and .jsonl, got {source} -> {target}")
    click.echo(f"wrote {count} vectors to {target}")


@vectors.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def stats(path: Path, as_json: bool) -> None:
    """Print count, non-zeros per vector (mean, p50, p99), distinct terms, FLOPS and size.

    FLOPS is sum_j p_j^2, p_j the fraction of vectors where term j is non-zero: the expected
    multiplications of a dot product between two vectors of this distribution.
    """
    from lsr.vector_stats import vector_stats

    result = vector_stats(path)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    for name, value in result.as_dict().items():
        shown = f"{value:,.4f}" if isinstance(value, float) else f"{value:,}"
        click.echo(f"{name:>15}  {shown}")
