"""An index directory on disk: one ``.npy`` file per array plus ``manifest.json``.

The manifest records the format and its version, the build parameters and statistics, the
vocabulary, and for every array its file, dtype, shape and SHA-256. Saving fills a sibling
temporary directory and swaps it in with one rename (:func:`lsr.atomic.write_directory_atomic`),
so a crash leaves either the old index or the new one, never half of one, and a reader finds
one of the two at every moment. Loading memory-maps the arrays, after checking each file's
header against the manifest's dtype and shape and the file's size against the header (which
catches truncation, foreign files, and a damaged header that would make numpy allocate
gigabytes); ``verify=True`` also checks the checksums. What the arrays hold is checked next, by
:mod:`index.integrity`. Every failure is an :class:`~lsr.errors.IndexFormatError` naming the file.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lsr.atomic import write_directory_atomic, write_json_atomic
from lsr.errors import IndexFormatError
from lsr.fingerprint import file_hash

FORMAT = "lsr-seismic-index"
#: 5: small groups of summaries store their components' blocks as masks (``summary_mask_blocks``
#: in the manifest, ``group_entry_ptr`` / ``group_block_ptr``: :mod:`index.summary`); 4: the
#: forward index as its manifest's ``forward_layout`` says (:mod:`index.forward`: side by side for
#: u16 ids and float16 weights); 3: always two arrays. 3 and 4 are still read.
FORMAT_VERSION = 5
READ_VERSIONS = (3, 4, 5)
MANIFEST = "manifest.json"
#: The commit pointer of a living index (:mod:`index.commit`): a build replaces one whole too.
LIVING_POINTER = "CURRENT"
#: Ids a :class:`Taken` keeps for the next results (~10 MB of short strings).
TAKEN_LIMIT = 1 << 16
#: Bytes read to parse an ``.npy`` header (numpy writes ~128; it refuses more than 10,000).
_HEADER_LIMIT = 1 << 16


def encode_strings(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as UTF-8 bytes (uint8) and int64 offsets: memory-mappable, unlike a JSON list."""
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


class Taken:
    """The ids a sequence returned lately, by position, for its next results.

    A query's ten ids are then one ``map`` over a dictionary, without a bytecode per id, where
    reading them again costs a slice and a decode each (~3.6 µs a query on SciFact,
    ``reports/index-single-s9.md``) or, over several segments, grouping them by segment first
    (~9 µs warm, 100-200 µs right after the kernels of two 500k shards). The ids kept are those
    returned lately, not a slot per document: a memory-mapped index of 100M documents must not
    grow by 100M pointers in every serving process, so they are forgotten past
    :data:`TAKEN_LIMIT`. Two threads may read one id both; either is kept.
    """

    def __init__(self) -> None:
        self._ids: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def get(self, position: int) -> str | None:
        return self._ids.get(position)

    def take(
        self, positions: np.ndarray | Sequence[int], read: Callable[[list[int]], list[str]]
    ) -> list[str]:
        """The ids at ``positions``: those kept, or all of them by ``read(positions)`` (which
        checks the positions) where one is not, then kept."""
        if isinstance(positions, np.ndarray):
            positions = positions.tolist()
        ids = self._ids
        try:
            return list(map(ids.__getitem__, positions))
        except KeyError:
            pass
        found = read(positions)
        if len(ids) > TAKEN_LIMIT:
            ids.clear()
        ids.update(zip(positions, found))
        return found


class StringList(Sequence[str]):
    """Read-only sequence over :func:`encode_strings` arrays, decoding items on access."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self._data = data
        self._bytes = memoryview(np.ascontiguousarray(data))
        self._offsets = offsets
        # Indexing a memoryview gives Python ints at once, where a numpy array gives scalars
        # to convert: a query's ten ids are decoded in ~2 us instead of ~4.5.
        self._bounds = memoryview(np.ascontiguousarray(offsets, dtype=np.int64))
        self._taken = Taken()

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return str(self._bytes[self._bounds[i] : self._bounds[i + 1]], "utf-8")

    def take(self, positions: np.ndarray | Sequence[int]) -> list[str]:
        """The strings at ``positions`` (valid, non-negative): the ids of search results, each
        decoded once and kept (:class:`Taken`), so that a query's ten ids cost ~0.4 µs instead
        of ~3.6, a tenth of the gap between a single query and a query of a batch."""
        return self._taken.take(positions, self._decode_all)

    def _decode_all(self, positions: list[int]) -> list[str]:
        taken = self._taken
        return [taken.get(p) or self._decode(p) for p in positions]

    def _decode(self, p: int) -> str:
        return str(self._bytes[self._bounds[p] : self._bounds[p + 1]], "utf-8")


def ids_at(doc_ids: Sequence[str], positions: np.ndarray | Sequence[int]) -> list[str]:
    """The ids at ``positions`` (valid, non-negative) of any sequence, through its own ``take``
    where it has one (:class:`StringList`, a living index's ``SegmentIds``): one pass, not a
    lookup per position."""
    take = getattr(doc_ids, "take", None)
    if take is not None:
        return take(positions)
    if isinstance(positions, np.ndarray):
        positions = positions.tolist()
    return [doc_ids[p] for p in positions]


def save_arrays(
    directory: str | os.PathLike, arrays: Mapping[str, np.ndarray], manifest: dict[str, Any]
) -> None:
    """Write ``arrays`` and the manifest into ``directory``, swapped in whole."""
    directory = Path(directory)
    ours = (directory / MANIFEST).exists() or (directory / LIVING_POINTER).exists()
    if directory.is_dir() and not ours and any(directory.iterdir()):
        raise IndexFormatError(
            f"{directory}: exists and is not an lsr index; refusing to replace it"
        )

    def fill(tmp: Path) -> None:
        entries = {}
        for name, array in arrays.items():
            path = tmp / f"{name}.npy"
            np.save(path, np.ascontiguousarray(array), allow_pickle=False)
            entries[name] = {
                "file": path.name,
                "dtype": np.dtype(array.dtype).str,
                "shape": list(array.shape),
                "sha256": file_hash(path),
            }
        full = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest, "arrays": entries}
        write_json_atomic(tmp / MANIFEST, full, indent=1)

    write_directory_atomic(directory, fill)


def check_format(
    data: Any,
    path: Path,
    form: tuple[str, int | tuple[int, ...]],
    what: str,
    kind: str = "",
    advice: str = "",
) -> None:
    """The first check of every index file this package writes (a Seismic manifest, a living
    index's commit, a sharded index's ``shards.json``): ``data`` read from ``path`` is a dict of
    format ``form[0]`` at a version ``form[1]`` (one, or a tuple) this lsr reads, else an error
    naming the file."""
    name, versions = form
    versions = versions if isinstance(versions, tuple) else (versions,)
    if not isinstance(data, dict) or data.get("format") != name:
        raise IndexFormatError(f"{path}: not {what}")
    found = data.get("format_version")
    if found not in versions or isinstance(found, bool):
        readable = " or ".join(
            filter(None, (", ".join(str(v) for v in versions[:-1]), str(versions[-1])))
        )
        newer = isinstance(found, int) and found > max(versions)
        raise IndexFormatError(
            f"{path}: {kind}format version {found!r}; this lsr reads version {readable}"
            + (" (written by a newer lsr: upgrade lsr to read it)" if newer else advice)
        )


def read_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    """The manifest of an index directory, checked to be ours and of a version we read."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise IndexFormatError(f"{directory}: no such index directory")
    if not path.exists():
        raise IndexFormatError(f"{path}: missing; {directory} is not an lsr index")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexFormatError(f"{path}: not valid JSON ({exc})") from None
    check_format(
        manifest, path, (FORMAT, READ_VERSIONS), "an lsr Seismic index manifest", "index ",
        " (rebuild the index)",
    )  # fmt: skip
    if not isinstance(manifest.get("arrays"), dict):
        raise IndexFormatError(f"{path}: field 'arrays' missing")
    return manifest


def update_manifest(directory: str | os.PathLike, changes: Mapping[str, Any]) -> None:
    """Replace top-level fields of an index's manifest (not its arrays), atomically: a reader
    sees the old manifest or the new one. Changing ``arrays`` or the format is refused."""
    protected = {"arrays", "format", "format_version"} & set(changes)
    if protected:
        raise ValueError(f"update_manifest cannot change {sorted(protected)}")
    manifest = read_manifest(directory)
    write_json_atomic(Path(directory) / MANIFEST, {**manifest, **changes}, indent=1)


def load_arrays(
    directory: str | os.PathLike, mmap: bool = True, verify: bool = False
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Manifest and arrays of an index directory (see the module docstring for the checks)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    arrays = {}
    for name, entry in manifest["arrays"].items():
        path = directory / str(entry.get("file", f"{name}.npy"))
        if not path.exists():
            raise IndexFormatError(f"{path}: missing array file of the index")
        if verify and file_hash(path) != entry.get("sha256"):
            raise IndexFormatError(f"{path}: checksum mismatch; the file is corrupted")
        _check_header(path, entry)
        try:
            array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise IndexFormatError(f"{path}: unreadable or truncated array file ({exc})") from None
        # A plain ndarray view of the map: Numba dispatches on subclasses (np.memmap) slowly.
        arrays[name] = np.asarray(array)
    return manifest, arrays


def find_damaged(directory: str | os.PathLike, manifest: Mapping[str, Any]) -> Path | None:
    """The first array file whose checksum differs from the manifest's, if any: when arrays
    disagree, this names the one that was damaged (it reads the whole index)."""
    for name, entry in manifest["arrays"].items():
        path = Path(directory) / str(entry.get("file", f"{name}.npy"))
        if file_hash(path) != entry.get("sha256"):
            return path
    return None


def _check_header(path: Path, entry: Mapping[str, Any]) -> None:
    """The ``.npy`` header says the manifest's dtype and shape, in C order, and the file holds
    exactly that many bytes after it: read before the array, so that a damaged size can neither
    make numpy allocate it nor map past the end of the file."""
    try:
        with open(path, "rb") as file:
            # Parsed from a bounded copy: a damaged header length cannot make a read allocate it.
            handle = io.BytesIO(file.read(_HEADER_LIMIT))
            version = np.lib.format.read_magic(handle)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(handle)
            data_start = handle.tell()
    except Exception as exc:  # numpy's header parser fails in many ways (tokenize, ast, ...)
        raise IndexFormatError(f"{path}: unreadable array header ({exc!r})") from None
    if dtype.str != entry.get("dtype") or list(shape) != entry.get("shape") or fortran_order:
        raise IndexFormatError(
            f"{path}: holds {dtype.str} {list(shape)}{' (Fortran order)' if fortran_order else ''}, "
            f"the manifest says {entry.get('dtype')} {entry.get('shape')}"
        )
    expected = data_start + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if path.stat().st_size != expected:
        raise IndexFormatError(
            f"{path}: {path.stat().st_size} bytes, its header implies {expected} (truncated?)"
        )
