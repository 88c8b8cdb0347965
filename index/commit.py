"""The commits of a living index: which segments are live, and which of their documents deleted.

Lucene's ``segments_N`` idea (McCandless, Hatcher, Gospodnetić, *Lucene in Action*, 2nd ed.,
ch. 2.13): every change writes new files only (a segment, deletion bitmaps) and then a new commit
file ``commit-N.json`` naming them all; the change becomes live when the pointer file ``CURRENT``
is replaced by one naming ``commit-N.json``, in one atomic rename (:func:`lsr.atomic.write_text_atomic`).
A crash at any moment therefore leaves the previous commit live and whole; files it left behind are
named by no live commit and removed by the next writer (:func:`remove_unreferenced`).

Deletion bitmaps (:mod:`index.bitset`, one ``.npy`` per segment and generation) are immutable
too: a deletion writes the segment's new bitmap under a new name.

A reader opens the commit ``CURRENT`` names and maps its files; the last :data:`KEEP_COMMITS`
commits and their files are kept, so that a reader that read ``CURRENT`` just before a change
still finds the files of its commit, and once its files are mapped, it keeps working even after
they are removed (on POSIX, a removed file lives while it is mapped).

Directory layout::

    INDEX_DIR/CURRENT                 "commit-N.json"
    INDEX_DIR/commit-N.json           this module's Commit
    INDEX_DIR/segments/seg-000001/    a segment (index.segments)
    INDEX_DIR/segments/seg-000001.del-N.npy   its deletion bitmap as of commit N
    INDEX_DIR/segments/seg-000001.attrs/      its documents' attributes (index.attributes)
    INDEX_DIR/manifest.json ...       a plain index made living: its first segment, path "."
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from lsr.index import bitset, persist

from lsr.atomic import atomic_path, write_json_atomic, write_text_atomic
from lsr.errors import IndexFormatError

POINTER = persist.LIVING_POINTER
SEGMENTS = "segments"
FORMAT = "lsr-living-index"
FORMAT_VERSION = 1
#: Commits kept besides the live one's predecessors' files (see the module docstring).
KEEP_COMMITS = 2
_COMMIT_NAME = re.compile(r"commit-(\d+)\.json")


@dataclass(frozen=True)
class SegmentEntry:
    """A live segment: its directory (relative to the index), kind, size and deletions."""

    name: str
    path: str
    kind: str
    n_docs: int
    deletes: str | None = None
    n_deleted: int = 0
    #: The segment's attribute table (:mod:`index.attributes`), if its documents have any.
    attributes: str | None = None

    @property
    def n_live(self) -> int:
        return self.n_docs - self.n_deleted


@dataclass(frozen=True)
class Commit:
    """One state of a living index. ``metadata``, ``config`` and ``search_defaults`` are the
    JSON forms of the vectors' metadata and the parameters new segments are built with."""

    generation: int
    segments: tuple[SegmentEntry, ...]
    metadata: dict[str, Any]
    config: dict[str, Any]
    search_defaults: dict[str, Any]
    next_segment: int

    @property
    def file_name(self) -> str:
        return f"commit-{self.generation}.json"

    def files(self) -> set[str]:
        """Paths (relative to the index) of the segment directories and bitmaps it names."""
        names = {entry.path for entry in self.segments}
        names |= {entry.attributes for entry in self.segments if entry.attributes}
        return names | {entry.deletes for entry in self.segments if entry.deletes}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["segments"] = [asdict(entry) for entry in self.segments]
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any], source: Path) -> Commit:
        persist.check_format(
            data, source, (FORMAT, FORMAT_VERSION), "a commit of an lsr living index", "commit "
        )
        try:
            segments = tuple(SegmentEntry(**entry) for entry in data["segments"])
            return cls(
                int(data["generation"]), segments, data["metadata"], data["config"],
                data["search_defaults"], int(data["next_segment"]),
            )  # fmt: skip
        except KeyError as exc:
            raise IndexFormatError(f"{source}: missing field {exc.args[0]!r}") from None
        except TypeError as exc:
            raise IndexFormatError(f"{source}: field 'segments': {exc}") from None

    def with_segments(self, segments: list[SegmentEntry], next_segment: int) -> Commit:
        """The next commit: these segments, one generation on."""
        return replace(
            self, generation=self.generation + 1, segments=tuple(segments),
            next_segment=next_segment,
        )  # fmt: skip


def is_living(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` holds a living index (a commit pointer)."""
    return (Path(directory) / POINTER).is_file()


def read_current(directory: str | os.PathLike) -> Commit:
    """The live commit of a living index."""
    directory = Path(directory)
    pointer = directory / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexFormatError(f"{pointer}: missing; {directory} is not a living index") from None
    if not _COMMIT_NAME.fullmatch(name):
        raise IndexFormatError(f"{pointer}: names {name!r}, not a commit file")
    return read_commit(directory / name)


def read_commit(path: Path) -> Commit:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexFormatError(f"{path}: missing commit file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexFormatError(f"{path}: not valid JSON ({exc})") from None
    return Commit.from_json(data, path)


def publish(directory: str | os.PathLike, commit: Commit) -> None:
    """Write ``commit``'s file, then make it live with one rename of the pointer."""
    directory = Path(directory)
    write_json_atomic(directory / commit.file_name, commit.to_json(), indent=1)
    write_text_atomic(directory / POINTER, commit.file_name + "\n")


def write_deletes(directory: Path, segment: str, generation: int, deleted: np.ndarray) -> str:
    """Write a segment's deletion mask as a bitmap file; return its path relative to the index."""
    relative = f"{SEGMENTS}/{segment}.del-{generation}.npy"
    with atomic_path(directory / relative) as tmp, open(tmp, "wb") as handle:
        np.save(handle, bitset.from_mask(deleted), allow_pickle=False)
    return relative


def read_deletes(directory: Path, entry: SegmentEntry) -> np.ndarray:
    """A segment's deletion mask (all False when it has no bitmap)."""
    if entry.deletes is None:
        return np.zeros(entry.n_docs, dtype=bool)
    path = directory / entry.deletes
    try:
        bits = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise IndexFormatError(f"{path}: missing deletion bitmap") from None
    except (ValueError, OSError, EOFError) as exc:
        raise IndexFormatError(f"{path}: unreadable deletion bitmap ({exc})") from None
    if bits.dtype != np.uint64 or bits.shape != (bitset.words(entry.n_docs),):
        raise IndexFormatError(
            f"{path}: holds {bits.dtype} {bits.shape}, expected the uint64 bitset of "
            f"{entry.n_docs} documents"
        )
    mask = bitset.to_mask(bits, entry.n_docs)
    if int(mask.sum()) != entry.n_deleted:
        raise IndexFormatError(
            f"{path}: {int(mask.sum())} documents deleted, the commit says {entry.n_deleted}"
        )
    return mask


def commit_generations(directory: Path) -> list[int]:
    """Generations of the commit files present, oldest first."""
    found = (_COMMIT_NAME.fullmatch(p.name) for p in directory.iterdir())
    return sorted(int(match.group(1)) for match in found if match)


def remove_unreferenced(directory: str | os.PathLike, live: Commit) -> None:
    """Keep the live commit and the :data:`KEEP_COMMITS` - 1 before it, with their files;
    remove every other commit, segment and bitmap (and a crashed writer's temporary files).
    Only a writer holding the lock calls this."""
    directory = Path(directory)
    kept = [g for g in commit_generations(directory) if g <= live.generation][-KEEP_COMMITS:]
    needed: set[str] = set()
    for generation in kept:
        path = directory / f"commit-{generation}.json"
        needed |= live.files() if generation == live.generation else _files_of(path)
    for generation in set(commit_generations(directory)) - set(kept):
        (directory / f"commit-{generation}.json").unlink(missing_ok=True)
    segments = directory / SEGMENTS
    for path in segments.iterdir() if segments.is_dir() else ():
        if f"{SEGMENTS}/{path.name}" not in needed:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    for path in directory.glob(f".{POINTER}.*.tmp"):
        path.unlink(missing_ok=True)
    for path in directory.glob(".commit-*.tmp"):
        path.unlink(missing_ok=True)
    if "." not in needed and (directory / persist.MANIFEST).is_file():
        _remove_root_index(directory)


def _files_of(path: Path) -> set[str]:
    try:
        return read_commit(path).files()
    except IndexFormatError:  # a damaged old commit is of no use to anyone
        return set()


def _remove_root_index(directory: Path) -> None:
    """The arrays of a plain index made living, once no kept commit names it (its manifest
    last, so that a crash halfway leaves files the next writer still finds and removes)."""
    manifest = json.loads((directory / persist.MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest.get("arrays", {}).values():
        name = Path(str(entry.get("file", ""))).name
        if name.endswith(".npy"):
            (directory / name).unlink(missing_ok=True)
    (directory / persist.MANIFEST).unlink()
