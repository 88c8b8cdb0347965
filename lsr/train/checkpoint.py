"""Checkpoints for exact resume: everything the next step depends on, written atomically.

A checkpoint directory ``checkpoints/step-NNNNNNN`` holds one ``state.pt``: the model's, the
optimizer's and the scheduler's state dicts, the random generators (torch's and CUDA's)
and the step. The data position and the regularizer's warm-up are functions of the step (the
batch order is a seeded permutation per epoch, the warm-up a formula of the step), so restoring
the step restores both. A run killed at any moment leaves complete checkpoints only
(:func:`lsr.atomic.write_directory_atomic`), and resuming from the newest one replays the same
steps as an uninterrupted run.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from lsr.atomic import write_directory_atomic
from lsr.errors import InputError

STATE_FILE = "state.pt"
PREFIX = "step-"


def rng_state() -> dict[str, Any]:
    """The global generators a step draws from: torch's (dropout) and CUDA's. The data order and
    the negative miners use their own seeded generators, and nothing draws from Python's or
    numpy's global ones."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(folder: Path, step: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write ``state`` as the checkpoint of ``step``; keep only the newest ``keep``."""
    target = folder / f"{PREFIX}{step:07d}"
    write_directory_atomic(target, lambda tmp: torch.save(state, tmp / STATE_FILE))
    for old in checkpoints(folder)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints, oldest first (temporary directories are hidden, never listed)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith(PREFIX) and p.is_dir())


def load_latest(folder: Path) -> dict[str, Any]:
    """The newest checkpoint's state; an error naming the folder when there is none."""
    found = checkpoints(folder)
    if not found:
        raise InputError(f"{folder}: no checkpoint to resume from (run without --resume)")
    path = found[-1] / STATE_FILE
    try:
        return torch.load(path, weights_only=False)
    except (OSError, RuntimeError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read as a checkpoint ({exc})") from None
