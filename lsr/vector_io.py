"""Reading and writing sparse vectors: Parquet (our format) and JSONL (Seismic's format).

Parquet layout: columns ``id: string``, ``indices: list<int32>``, ``values: list<float32>``; the
:class:`~lsr.vectors.VectorMetadata` is stored as JSON under the schema metadata key ``lsr``.
Files are written in row groups by :class:`VectorWriter` to a temporary name and renamed into
place when closed, so a killed writer never leaves a half file under the final name; readers
stream row groups with :func:`iter_vectors`, so a collection larger than memory can be processed.

JSONL is the interchange format of Seismic and other LSR tools, one object per line:
``{"id": ..., "content": ..., "vector": {"token": weight, ...}}``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lsr.atomic import atomic_path
from lsr.errors import VectorFormatError, where
from lsr.jsonl import iter_jsonl
from lsr.vectors import SparseCollection, VectorMetadata

METADATA_KEY = b"lsr"
DEFAULT_ROW_GROUP = 16_384

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("indices", pa.list_(pa.int32()), nullable=False),
        pa.field("values", pa.list_(pa.float32()), nullable=False),
    ]
)


# -- Parquet ------------------------------------------------------------------------------------


class VectorWriter:
    """Streams collections into one Parquet file, atomically.

    Use as a context manager: the file appears under ``path`` only when the block exits without
    an exception; on error the temporary file is removed and an existing ``path`` is untouched.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        metadata: VectorMetadata,
        row_group_size: int = DEFAULT_ROW_GROUP,
    ) -> None:
        self.path = Path(path)
        self.metadata = metadata
        self.row_group_size = row_group_size
        # The file is renamed into place by lsr.atomic when the stack closes without an error.
        self._commit = contextlib.ExitStack()
        self._tmp = self._commit.enter_context(atomic_path(self.path))
        schema = SCHEMA.with_metadata({METADATA_KEY: json.dumps(metadata.to_json()).encode()})
        self._writer = pq.ParquetWriter(self._tmp, schema, compression="zstd")
        self._ids: set[str] = set()
        self.count = 0

    def write(self, collection: SparseCollection) -> None:
        if collection.metadata.vocab_size != self.metadata.vocab_size:
            raise VectorFormatError(
                f"{self.path}: writing vectors with vocab_size {collection.metadata.vocab_size} "
                f"into a file of vocab_size {self.metadata.vocab_size}"
            )
        duplicate = self._ids.intersection(collection.ids)
        if duplicate:
            raise VectorFormatError(f"{self.path}: duplicate id {sorted(duplicate)[0]!r}")
        self._ids.update(collection.ids)
        for start in range(0, len(collection), self.row_group_size):
            part = collection.slice(start, start + self.row_group_size)
            self._writer.write_table(_to_table(part), row_group_size=self.row_group_size)
        self.count += len(collection)

    def close(self) -> None:
        self._writer.close()
        self._commit.close()

    def abort(self) -> None:
        """Close and drop the temporary file; an existing ``path`` is untouched."""
        self._writer.close()
        aborted = _Aborted(str(self.path))
        self._commit.__exit__(_Aborted, aborted, None)

    def __enter__(self) -> VectorWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class _Aborted(Exception):
    """Thrown into the atomic write so that it removes the temporary file instead of renaming."""


def _to_table(part: SparseCollection) -> pa.Table:
    offsets = pa.array(part.indptr.astype(np.int32))
    return pa.Table.from_arrays(
        [
            pa.array(part.ids, pa.string()),
            pa.ListArray.from_arrays(offsets, pa.array(part.indices, pa.int32())),
            pa.ListArray.from_arrays(offsets, pa.array(part.values, pa.float32())),
        ],
        schema=SCHEMA,
    )


def write_vectors(
    path: str | os.PathLike, collection: SparseCollection, row_group_size: int = DEFAULT_ROW_GROUP
) -> None:
    """Write a whole collection to a Parquet file (atomically)."""
    with VectorWriter(path, collection.metadata, row_group_size) as writer:
        writer.write(collection)


def _open(path: Path) -> pq.ParquetFile:
    if not path.exists():
        raise VectorFormatError(f"{path}: no such file")
    try:
        # pre_buffer would cache every column chunk read so far: streaming would grow to the file size
        return pq.ParquetFile(path, pre_buffer=False)
    except (pa.ArrowException, OSError) as exc:
        raise VectorFormatError(f"{path}: not a readable Parquet file ({exc})") from None


def read_metadata(path: str | os.PathLike) -> VectorMetadata:
    """The metadata of a vector file, without reading its rows."""
    path = Path(path)
    return _metadata_of(_open(path), path)


def _metadata_of(parquet: pq.ParquetFile, path: Path) -> VectorMetadata:
    schema = parquet.schema_arrow
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise VectorFormatError(
            f"{path}: Parquet file has no lsr metadata; it was not written by lsr "
            "(convert JSONL with `lsr vectors convert`)"
        )
    for name, expected in zip(SCHEMA.names, SCHEMA.types):
        if name not in schema.names:
            raise VectorFormatError(f"{path}: missing column {name!r}")
        if not _same_type(schema.field(name).type, expected):
            raise VectorFormatError(
                f"{path}: column {name!r} has type {schema.field(name).type}, expected {expected}"
            )
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        raise VectorFormatError(f"{path}: lsr metadata is not valid JSON") from None
    return VectorMetadata.from_json(data, source=str(path))


def _same_type(found: pa.DataType, expected: pa.DataType) -> bool:
    """Type equality that ignores the name of a list's item field (Parquet writers differ)."""
    if pa.types.is_list(expected):
        return pa.types.is_list(found) and found.value_type.equals(expected.value_type)
    return found.equals(expected)


def iter_vectors(
    path: str | os.PathLike, batch_size: int = DEFAULT_ROW_GROUP
) -> Iterator[SparseCollection]:
    """Stream a vector file as collections of at most ``batch_size`` rows, validated."""
    path = Path(path)
    parquet = _open(path)
    metadata = _metadata_of(parquet, path)
    seen: set[str] = set()
    first_row = 0
    try:
        batches = parquet.iter_batches(batch_size=batch_size, columns=list(SCHEMA.names))
        for batch in batches:
            part = _from_batch(batch, metadata, f"{path} (rows from {first_row})")
            duplicate = seen.intersection(part.ids)
            if duplicate:
                raise VectorFormatError(f"{path}: duplicate id {sorted(duplicate)[0]!r}")
            seen.update(part.ids)
            first_row += len(part)
            yield part
    except (pa.ArrowException, OSError) as exc:
        raise VectorFormatError(f"{path}: corrupted Parquet data ({exc})") from None


def _list_parts(column: pa.Array, name: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    if column.null_count:
        raise VectorFormatError(f"{source}: column {name!r} has null entries")
    offsets = column.offsets.to_numpy().astype(np.int64)
    flat = column.values.to_numpy(zero_copy_only=False)[offsets[0] : offsets[-1]]
    return offsets - offsets[0], flat


def _from_batch(batch: pa.RecordBatch, metadata: VectorMetadata, source: str) -> SparseCollection:
    ids = batch.column(0)
    if ids.null_count:
        raise VectorFormatError(f"{source}: column 'id' has null entries")
    indptr, indices = _list_parts(batch.column(1), "indices", source)
    value_ptr, values = _list_parts(batch.column(2), "values", source)
    if not np.array_equal(indptr, value_ptr):
        row = int(np.flatnonzero(indptr != value_ptr)[0]) - 1
        raise VectorFormatError(
            f"{source}: row {max(row, 0)} has different numbers of indices and values"
        )
    return SparseCollection.from_csr(ids.to_pylist(), indptr, indices, values, metadata, source)


def read_vectors(path: str | os.PathLike) -> SparseCollection:
    """Read a whole vector file into memory."""
    path = Path(path)
    parts = list(iter_vectors(path))
    if not parts:
        return SparseCollection.empty(read_metadata(path))
    return parts[0] if len(parts) == 1 else SparseCollection.concat(parts)


# -- document attributes (what a living index filters on) ---------------------------------------


def read_attributes(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``{id: {key: value}}`` from a side file: JSONL (one object per line, with ``id``) or
    Parquet (an ``id`` column and one column per key; nulls are missing keys)."""
    path = Path(path)
    if path.suffix == ".parquet":
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise VectorFormatError(f"{path}: not a readable Parquet file ({exc})") from None
        if "id" not in table.column_names:
            raise VectorFormatError(f"{path}: missing column 'id'")
        return _attribute_records(table, path)
    attributes = {}
    for number, record in iter_jsonl(path, VectorFormatError):
        doc_id = record.pop("id", None)
        if not isinstance(doc_id, str) or not doc_id:
            raise VectorFormatError(f"{where(path, number, 'id')}: a non-empty string is needed")
        attributes[doc_id] = record
    return attributes


def read_vector_attributes(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``{id: {key: value}}`` from the columns of a vector file besides id, indices, values
    (empty when it has none)."""
    path = Path(path)
    extra = [n for n in _open(path).schema_arrow.names if n not in SCHEMA.names]
    if not extra:
        return {}
    return _attribute_records(pq.read_table(path, columns=["id", *extra]), path)


def _attribute_records(table: pa.Table, path: Path) -> dict[str, dict[str, Any]]:
    ids = table.column("id").to_pylist()
    keys = [n for n in table.column_names if n != "id"]
    columns = [table.column(k).to_pylist() for k in keys]
    attributes = {}
    for row, doc_id in enumerate(ids):
        if not isinstance(doc_id, str) or not doc_id:
            raise VectorFormatError(f"{path}, row {row}, column 'id': a non-empty string is needed")
        attributes[doc_id] = {k: c[row] for k, c in zip(keys, columns) if c[row] is not None}
    return attributes


# -- JSONL (Seismic's interchange format) -------------------------------------------------------


def read_vocabulary(path: str | os.PathLike) -> list[str]:
    """A vocabulary file: one token per line, line number = term id (BERT's ``vocab.txt``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "vocab.txt"
    if not path.exists():
        raise VectorFormatError(f"{path}: no such vocabulary file")
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle]


def _check_record(record: dict[str, Any], path: Path, number: int) -> tuple[str, dict[str, float]]:
    doc_id = record.get("id")
    if doc_id is None:
        raise VectorFormatError(f"{where(path, number, 'id')}: missing")
    if not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool):
        raise VectorFormatError(f"{where(path, number, 'id')}: expected a string, got {doc_id!r}")
    vector = record.get("vector")
    if not isinstance(vector, dict):
        raise VectorFormatError(
            f"{where(path, number, 'vector')}: expected an object of token -> weight"
        )
    for token, weight in vector.items():
        if not isinstance(weight, (int, float)) or isinstance(weight, bool):
            raise VectorFormatError(
                f"{where(path, number, 'vector')}: weight of {token!r} is {weight!r}, expected a number"
            )
    return str(doc_id), vector


def read_jsonl(
    path: str | os.PathLike,
    vocabulary: list[str] | None = None,
    provenance: dict[str, Any] | None = None,
) -> SparseCollection:
    """Read Seismic-style JSONL. Tokens map to ids through ``vocabulary``.

    Without a vocabulary one is built from the file's tokens in order of first appearance, as
    Seismic does; with one, a token outside it is an error naming the line.
    """
    path = Path(path)
    grow = vocabulary is None
    tokens: list[str] = [] if grow else list(vocabulary)
    lookup = {t: i for i, t in enumerate(tokens)}
    ids: list[str] = []
    rows: list[tuple[list[int], list[float]]] = []
    for number, record in iter_jsonl(path, VectorFormatError):
        doc_id, vector = _check_record(record, path, number)
        term_ids = []
        for token in vector:
            if token not in lookup:
                if not grow:
                    raise VectorFormatError(
                        f"{where(path, number, 'vector')}: token {token!r} is not in the vocabulary"
                    )
                lookup[token] = len(tokens)
                tokens.append(token)
            term_ids.append(lookup[token])
        ids.append(doc_id)
        rows.append((term_ids, list(vector.values())))
    metadata = VectorMetadata(
        vocab_size=max(len(tokens), 1),
        vocabulary=tuple(tokens) if tokens else None,
        provenance=provenance or {"source": str(path)},
    )
    return SparseCollection.from_rows(ids, rows, metadata, source=str(path))


def write_jsonl(
    path: str | os.PathLike,
    collections: Iterable[SparseCollection],
    contents: dict[str, str] | None = None,
) -> int:
    """Write Seismic-style JSONL atomically; returns the number of vectors written."""
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for collection in collections:
            for i, doc_id in enumerate(collection.ids):
                record = {
                    "id": doc_id,
                    "content": (contents or {}).get(doc_id, ""),
                    "vector": collection.to_dict(i),
                }
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    return count
