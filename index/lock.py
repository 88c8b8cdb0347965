"""One writer at a time per living index: an advisory lock on ``INDEX_DIR/write.lock``.

``flock`` locks belong to the open file and the kernel drops them when the process dies, however
it dies, so a writer killed with ``kill -9`` leaves no stale lock to clean up by hand. Who holds
the lock (pid, host, command, since when) is written beside it, in ``write.lock.json``, so that the
refused writer's error names the holder. Readers take no lock: they read commits, which writers
never change (:mod:`index.commit`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from lsr.atomic import write_json_atomic
from lsr.errors import IndexLockedError

LOCK = "write.lock"
HOLDER = "write.lock.json"


@contextlib.contextmanager
def write_lock(directory: str | os.PathLike) -> Iterator[None]:
    """Hold the write lock of ``directory`` for the block; raise
    :class:`~lsr.errors.IndexLockedError` naming the holder if another writer has it."""
    directory = Path(directory)
    descriptor = os.open(directory / LOCK, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(
                f"{directory / LOCK}: another writer is changing this index "
                f"({_holder(directory)}); wait for it to finish"
            ) from None
        write_json_atomic(
            directory / HOLDER,
            {"pid": os.getpid(), "host": socket.gethostname(), "command": sys.argv,
             "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        )  # fmt: skip
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _holder(directory: Path) -> str:
    try:
        holder = json.loads((directory / HOLDER).read_text(encoding="utf-8"))
        command = " ".join(map(str, holder.get("command") or []))
        return f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')}: {command}"
    except (OSError, ValueError):
        return "holder unknown"
