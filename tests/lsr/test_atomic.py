"""lsr.atomic: a file or directory appears whole or not at all, even when the writer is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lsr.atomic import atomic_path, write_directory_atomic, write_json_atomic, write_text_atomic

# A writer that starts replacing ``target`` and blocks halfway (after printing "writing"), so
# that the test can kill it at a known point of the write.
KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from lsr.atomic import atomic_path

    with atomic_path(sys.argv[1]) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write("new content, first half")
        handle.flush()
        print("writing", flush=True)
        time.sleep(60)
        handle.write(" and second half")
    """
)


def test_killed_writer_leaves_old_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old content", encoding="utf-8")
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert target.read_text(encoding="utf-8") == "old content"
    # The half-written temporary file is hidden beside the target, never under its name.
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(name.startswith(".report.md.") for name in leftovers)


def test_write_text_and_json_replace_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "a.json"
    write_text_atomic(path, "first")
    write_json_atomic(path, {"é": [1, 2]})
    assert json.loads(path.read_text(encoding="utf-8")) == {"é": [1, 2]}
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.json"]


def test_error_inside_atomic_path_keeps_old_file_and_removes_temporary(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(path) as tmp:
        tmp.write_text("new", encoding="utf-8")
        raise RuntimeError("boom")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def _fill(files: dict[str, str]):
    def fill(directory: Path) -> None:
        for name, text in files.items():
            (directory / name).write_text(text, encoding="utf-8")

    return fill


def _contents(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.iterdir())}


def test_directory_swap_replaces_old_content(tmp_path: Path) -> None:
    target = tmp_path / "index"
    write_directory_atomic(target, _fill({"a": "1", "b": "2"}))
    write_directory_atomic(target, _fill({"c": "3"}))
    assert _contents(target) == {"c": "3"}
    assert [p.name for p in tmp_path.iterdir()] == ["index"]


def test_directory_swap_keeps_old_content_when_fill_fails(tmp_path: Path) -> None:
    target = tmp_path / "index"
    write_directory_atomic(target, _fill({"a": "1"}))

    def failing(directory: Path) -> None:
        (directory / "half").write_text("x", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_directory_atomic(target, failing)
    assert _contents(target) == {"a": "1"}
    assert [p.name for p in tmp_path.iterdir()] == ["index"]
