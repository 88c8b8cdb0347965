"""``lsr soup MODEL MODEL... --out FOLDER``: average fine-tuned models' weights into one model."""

from __future__ import annotations

import click


@click.command("soup", context_settings={"max_content_width": 100})
@click.argument("models", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="the soup's model folder"
)
def soup(models: tuple[str, ...], out: str) -> None:
    """Average the weights of MODELS (model folders of one recipe at several seeds, each made by
    `lsr train` from the same start) into one model folder: a uniform model soup (Wortsman et
    al., ICML 2022). It encodes as fast as one model, and is often better than each.

    Weights (.safetensors) are averaged; every other file (lsr.json, config, tokenizer) must be
    the same in every folder. Ends with the line `model: PATH`.

    \b
      lsr train run.yaml --seed 42 --output-dir runs/s42
      lsr train run.yaml --seed 43 --output-dir runs/s43
      lsr soup runs/s42/model runs/s43/model --out runs/soup
    """
    from lsr.train.soup import soup as make_soup

    click.echo(f"model: {make_soup(models, out)}")
