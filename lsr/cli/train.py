"""``lsr train [CONFIG.yaml] [--key value ...]``: every configuration key is a flag too."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import click

from lsr.train.config import TrainConfig, field_types


def _config_options(command: Any) -> Any:
    """One ``--key`` flag per :class:`TrainConfig` field (``--flag/--no-flag`` for booleans);
    a flag left out keeps the YAML's value, or the default."""
    types = field_types()
    for spec in reversed(fields(TrainConfig)):
        flag = spec.name.replace("_", "-")
        help_text = f"{spec.metadata['help']} [default: {spec.default!r}]"
        if types[spec.name] is bool:
            option = click.option(f"--{flag}/--no-{flag}", spec.name, default=None, help=help_text)
        else:
            option = click.option(
                f"--{flag}", spec.name, type=types[spec.name], default=None, help=help_text
            )
        command = option(command)
    return command


@click.command("train", context_settings={"max_content_width": 100})
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--resume",
    is_flag=True,
    help="Continue from the newest checkpoint in --output-dir: the same steps as if never killed.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_config_options
def train(config_file: str | None, resume: bool, quiet: bool, **flags: Any) -> None:
    """Train a sparse encoder (SPLADE, inference-free, or a per-side mix) on labelled pairs.

    CONFIG_FILE is an optional YAML mapping of the keys below (underscores or dashes); flags
    override it. The run writes OUTPUT_DIR/model (a folder `lsr encode` and `lsr eval` load),
    OUTPUT_DIR/checkpoints, and OUTPUT_DIR/train_log.jsonl (each loss term, lambdas, mean
    non-zeros and FLOPS of queries and documents, per step). It ends with the line
    `model: PATH`.

    \b
      lsr train --model rasyosef/splade-tiny --dataset beir/scifact/train --max-steps 200
      lsr train run.yaml --lambda-d 1e-4 --output-dir runs/sweep-1e-4
      lsr train run.yaml --resume
    """
    from lsr.train.run import train as run_training

    config = TrainConfig.from_yaml(config_file) if config_file else TrainConfig()
    config = config.with_overrides({k: v for k, v in flags.items() if v is not None})
    model = run_training(config, resume=resume, progress=not quiet)
    click.echo(f"model: {model}")
