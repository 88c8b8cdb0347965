"""The docstore: the title and text of every indexed document, read one document at a time.

An index holds vectors, not text; a search service that shows what it found needs the text back
without loading the corpus. ``lsr index build --docs CORPUS`` writes a docstore into the index
directory, so that it travels (and is swapped) with the index:

* ``docstore/docs.parquet``: columns ``id``, ``title``, ``text`` in row groups of
  :data:`ROW_GROUP_ROWS` rows, zstd-compressed, without column statistics (they would only grow
  the footer). Reading one document decodes one row group, never the whole file.
* ``docstore/ids.npy`` and ``docstore/rows.npy``: the ids sorted as fixed-width UTF-8 bytes and
  the row of each. Both are memory-mapped and an id is found by binary search
  (``np.searchsorted``), so nothing per document is held in memory: a million ids cost no RAM
  until looked up, and a service's worker processes share them through the page cache.

The directory is written with :func:`lsr.atomic.write_directory_atomic`: a rebuilt docstore
replaces the old one whole. Documents added to a living index (``lsr index add --docs``) are
added by :func:`add_documents`, which rewrites it so (its cost grows with the docstore: ~1M
BEIR-sized documents are rewritten in about the time their segment takes to build; a docstore
per segment would avoid it).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from lsr.atomic import write_directory_atomic
from lsr.datasets import Document
from lsr.errors import DatasetError, IndexFormatError

DIRECTORY = "docstore"
DOCS_FILE = "docs.parquet"
IDS_FILE = "ids.npy"
ROWS_FILE = "rows.npy"
#: Rows per Parquet row group: reading one document decodes at most this many (~100 KB of
#: BEIR-sized documents), and a million documents make a footer of ~16k row groups.
ROW_GROUP_ROWS = 64

_SCHEMA = pa.schema([("id", pa.string()), ("title", pa.string()), ("text", pa.string())])


def docstore_path(index_dir: str | os.PathLike) -> Path:
    """Where the docstore of ``index_dir`` lives."""
    return Path(index_dir) / DIRECTORY


def write_docstore(
    index_dir: str | os.PathLike, documents: Iterable[Document], progress: bool = False
) -> int:
    """Write the docstore of ``documents`` into ``index_dir`` (replacing any); return its size.

    A document id given twice is refused (:class:`~lsr.errors.DatasetError` naming it): a
    lookup by id must have one answer.
    """
    count = 0

    def fill(folder: Path) -> None:
        nonlocal count
        ids: list[str] = []
        bar = tqdm(documents, unit="docs", desc="docstore", disable=not progress)
        with pq.ParquetWriter(
            folder / DOCS_FILE, _SCHEMA, compression="zstd", write_statistics=False
        ) as writer:
            for chunk in _chunks(bar, ROW_GROUP_ROWS):
                ids.extend(doc.id for doc in chunk)
                columns = [
                    [doc.id for doc in chunk],
                    [d.title for d in chunk],
                    [d.text for d in chunk],
                ]
                writer.write_table(pa.Table.from_arrays(columns, schema=_SCHEMA))
        sorted_ids, rows = _sorted_ids(ids)
        np.save(folder / IDS_FILE, sorted_ids, allow_pickle=False)
        np.save(folder / ROWS_FILE, rows, allow_pickle=False)
        count = len(ids)

    write_directory_atomic(docstore_path(index_dir), fill)
    return count


def add_documents(
    index_dir: str | os.PathLike, documents: Iterable[Document], progress: bool = False
) -> int:
    """Rewrite the docstore of ``index_dir`` (or write one) with ``documents`` added: one whose
    id it holds replaces the old text (an update, as in a living index), the others are kept.
    Returns its new size."""
    new = list(documents)
    replaced = {doc.id for doc in new}
    old = Docstore.open(index_dir)
    kept = (doc for doc in (old.documents() if old else ()) if doc.id not in replaced)
    return write_docstore(index_dir, itertools.chain(kept, new), progress)


def _chunks(documents: Iterable[Document], size: int) -> Iterable[list[Document]]:
    chunk: list[Document] = []
    for doc in documents:
        chunk.append(doc)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _sorted_ids(ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Ids as sorted fixed-width bytes and the row of each; a repeated id is refused."""
    encoded = [doc_id.encode("utf-8") for doc_id in ids]
    width = max((len(e) for e in encoded), default=1) or 1
    keys = np.array(encoded, dtype=f"S{width}")
    rows = np.argsort(keys, kind="stable").astype(np.int64)
    keys = keys[rows]
    repeated = np.flatnonzero(keys[1:] == keys[:-1])
    if len(repeated):
        raise DatasetError(f"document id {ids[rows[repeated[0]]]!r} appears more than once")
    return keys, rows


class Docstore:
    """Read access to a docstore written by :func:`write_docstore`.

    Safe to share between threads: the Parquet reader is used under a lock (a row group is read
    in well under a millisecond), the id arrays are read-only maps.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        try:
            self._file = pq.ParquetFile(folder / DOCS_FILE)
            self._ids = np.load(folder / IDS_FILE, mmap_mode="r", allow_pickle=False)
            self._rows = np.load(folder / ROWS_FILE, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise IndexFormatError(f"{folder}: unreadable docstore ({exc})") from None
        if len(self._ids) != len(self._rows) or len(self._ids) != self._file.metadata.num_rows:
            raise IndexFormatError(f"{folder / IDS_FILE}: does not fit {folder / DOCS_FILE}")
        self._lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: str | os.PathLike) -> Docstore | None:
        """The docstore of ``index_dir``, or None when the index was built without ``--docs``."""
        folder = docstore_path(index_dir)
        return cls(folder) if folder.is_dir() else None

    def __len__(self) -> int:
        return len(self._ids)

    def rows_of(self, ids: Sequence[str]) -> np.ndarray:
        """The row of each id, -1 where the docstore does not hold it."""
        if not ids or not len(self._ids):
            return np.full(len(ids), -1, dtype=np.int64)
        width = self._ids.dtype.itemsize
        encoded = [doc_id.encode("utf-8") for doc_id in ids]
        keys = np.array([e if len(e) <= width else b"" for e in encoded], dtype=self._ids.dtype)
        at = np.minimum(np.searchsorted(self._ids, keys), len(self._ids) - 1)
        found = (self._ids[at] == keys) & np.array([0 < len(e) <= width for e in encoded])
        return np.where(found, self._rows[at], -1)

    def get_many(self, ids: Sequence[str]) -> list[Document | None]:
        """The documents of ``ids`` (None for an id the docstore lacks), one read per row group."""
        rows = self.rows_of(ids).tolist()
        found: dict[int, Document] = {}
        groups = sorted({row // ROW_GROUP_ROWS for row in rows if row >= 0})
        for group in groups:
            with self._lock:
                table = self._file.read_row_group(group).to_pydict()
            base = group * ROW_GROUP_ROWS
            for offset, values in enumerate(zip(table["id"], table["title"], table["text"])):
                found[base + offset] = Document(*values)
        return [found.get(row) if row >= 0 else None for row in rows]

    def get(self, doc_id: str) -> Document | None:
        """One document by id, or None."""
        return self.get_many([doc_id])[0]

    def documents(self) -> Iterator[Document]:
        """Every document, in the order written, one row group at a time."""
        for group in range(self._file.num_row_groups):
            with self._lock:
                table = self._file.read_row_group(group).to_pydict()
            yield from (Document(*v) for v in zip(table["id"], table["title"], table["text"]))
