"""JSON Lines reading shared by every file reader: one object a line, errors naming the line."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lsr.errors import InputError, where


def open_text(path: Path) -> IO[str]:
    """Open a UTF-8 text file, transparently decompressing ``.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def iter_jsonl(
    path: Path, error: type[InputError] = InputError
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of ``path`` (optionally gzipped).

    A missing or unreadable file, a line that is not JSON, or a line that is not an object raises
    ``error`` naming the file and line, so each reader reports in its own error class.
    """
    if not path.is_file():
        raise error(f"{path}: no such file")
    try:
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise error(f"{where(path, number)}: invalid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise error(f"{where(path, number)}: expected a JSON object")
                yield number, record
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot be read ({exc})") from None
