"""A uniform model soup: the element-wise mean of the weights of models fine-tuned from one start.

Wortsman et al., "Model soups: averaging weights of multiple fine-tuned models improves accuracy
without increasing inference time" (ICML 2022), eq. (1), the uniform soup:
``theta_soup = (1/k) sum_i theta_i`` over k models fine-tuned from the same pre-trained
weights (here: the same recipe at several seeds). Models that start from one checkpoint stay in
one basin of the loss, so their mean is itself a good model, often better than each of them, and
it costs nothing at inference: the soup is a model folder like any other.

Every ``*.safetensors`` file of the folders (the backbone, an MLP head's term weights) is
averaged tensor by tensor; every other file (``lsr.json``, ``config.json``, the tokenizer, an
``idf.json`` table) must be the same in every folder, since it cannot be averaged as bytes: a
soup of models that differ there (another encoder kind, learned query weights) is refused.
The model card ``README.md`` is written anew, naming the ingredients.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch

from lsr.atomic import write_directory_atomic
from lsr.errors import ModelError

CARD = "README.md"


def soup(models: Sequence[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Write the uniform soup of ``models`` (model folders of one recipe) to the folder ``out``."""
    folders = [Path(model) for model in models]
    if len(folders) < 2:
        raise ModelError(f"models: a soup needs at least 2 model folders, got {len(folders)}")
    files = _same_files(folders)

    def fill(target: Path) -> None:
        for name in files:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            if name.suffix == ".safetensors":
                _write_mean([folder / name for folder in folders], target / name)
            else:
                shutil.copyfile(folders[0] / name, target / name)
        (target / CARD).write_text(_card(folders), encoding="utf-8")

    return write_directory_atomic(out, fill)


def mean_state(states: Sequence[dict[str, torch.Tensor]], where: str) -> dict[str, torch.Tensor]:
    """The element-wise mean of same-named floating tensors, summed in float64 and cast back to
    each tensor's dtype; non-floating tensors (ids, masks) must be equal and are kept."""
    first = states[0]
    for state in states[1:]:
        if state.keys() != first.keys():
            missing = sorted(first.keys() ^ state.keys())
            raise ModelError(f"{where}: the models' tensors differ in name ({missing[:3]})")
    return {
        name: _mean([state[name] for state in states], f"{where}, tensor {name!r}")
        for name in first
    }


def _mean(tensors: list[torch.Tensor], where: str) -> torch.Tensor:
    first = tensors[0]
    for tensor in tensors[1:]:
        if tensor.shape != first.shape or tensor.dtype != first.dtype:
            raise ModelError(
                f"{where}: {tuple(tensor.shape)} {tensor.dtype} against "
                f"{tuple(first.shape)} {first.dtype} in the first model"
            )
    if not first.is_floating_point():
        if any(not torch.equal(tensor, first) for tensor in tensors[1:]):
            raise ModelError(f"{where}: a non-floating tensor differs between the models")
        return first.clone()
    total = torch.zeros(first.shape, dtype=torch.float64)
    for tensor in tensors:
        total += tensor.to(torch.float64)
    return (total / len(tensors)).to(first.dtype).contiguous()


def _write_mean(paths: list[Path], target: Path) -> None:
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(paths[0]), framework="pt") as handle:
        metadata = handle.metadata()
    state = mean_state([load_file(str(path)) for path in paths], str(paths[0].name))
    save_file(state, str(target), metadata=metadata)


def _same_files(folders: list[Path]) -> list[Path]:
    """The relative file names of the first folder, checked to be the same set in every folder
    and, except for weights and the card, the same bytes."""
    for folder in folders:
        if not folder.is_dir():
            raise ModelError(f"{folder}: not a model folder")
    names = _files(folders[0])
    if not any(name.suffix == ".safetensors" for name in names):
        raise ModelError(f"{folders[0]}: no .safetensors weights to average")
    for folder in folders[1:]:
        other = _files(folder)
        if other != names:
            extra = sorted(str(name) for name in set(names) ^ set(other))
            raise ModelError(f"{folder}: its files differ from {folders[0]}'s ({extra[:3]})")
        for name in names:
            if name.suffix != ".safetensors" and not filecmp.cmp(
                folders[0] / name, folder / name, shallow=False
            ):
                raise ModelError(
                    f"{folder / name}: differs from {folders[0] / name}; a soup averages only "
                    "weights (.safetensors), the rest must be the same"
                )
    return names


def _files(folder: Path) -> list[Path]:
    return sorted(
        path.relative_to(folder)
        for path in folder.rglob("*")
        if path.is_file() and path.relative_to(folder) != Path(CARD)
    )


def _card(folders: list[Path]) -> str:
    lines = [
        f"# A uniform model soup of {len(folders)} fine-tuned models",
        "",
        "Made with `lsr soup`: every weight is the mean of the ingredients' (Wortsman et al., "
        "ICML 2022, the uniform soup). Load it with `lsr encode --model THIS_FOLDER`.",
        "",
        "Ingredients (each folder's own card says how it was trained):",
        "",
        *(f"- `{folder}`" for folder in folders),
        "",
    ]
    return "\n".join(lines)
