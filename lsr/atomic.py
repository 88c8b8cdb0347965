"""Atomic writes, in one place: every file and directory lsr writes appears whole or not at all.

A file is written to a temporary name beside its target and renamed over it (``os.replace`` is
atomic on POSIX within one file system), so a killed run leaves the old file or none, never half
of one. A directory is built under a temporary name and swapped in with one rename: on Linux
``renameat2(RENAME_EXCHANGE)`` exchanges the old and new directories atomically, so that a reader
sees one of the two at every moment; elsewhere the old directory is moved aside first.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def temporary_path(path: str | os.PathLike) -> Path:
    """A unique hidden name beside ``path`` (same directory, so the final rename is atomic)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed to ``path``, on error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json_atomic(path: str | os.PathLike, payload: Any, indent: int | None = 2) -> Path:
    """Write ``payload`` as JSON to ``path`` atomically; return the path."""
    return write_text_atomic(path, json.dumps(payload, indent=indent, ensure_ascii=False) + "\n")


def write_directory_atomic(directory: str | os.PathLike, fill: Callable[[Path], None]) -> Path:
    """Build a directory with ``fill(tmp_dir)`` and swap it in for ``directory`` in one rename.

    An existing ``directory`` is replaced only once the new one is complete; if ``fill`` raises,
    the old one is untouched and the temporary one removed.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(directory)
    tmp.mkdir()
    try:
        fill(tmp)
        _swap_in(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


def _swap_in(new: Path, target: Path) -> None:
    """Make ``new`` appear at ``target``; afterwards ``new`` names the old content (if any)."""
    if not target.exists():
        os.rename(new, target)
        return
    if _exchange(new, target):
        return
    # No atomic exchange here (not Linux, or an old kernel): move the old one aside first.
    aside = temporary_path(target)
    os.rename(target, aside)
    os.rename(new, target)
    os.rename(aside, new)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux ``renameat2``; False where it is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0
