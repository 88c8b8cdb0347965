"""Encode a stream of (id, text) records into a Parquet vector file, resumably.

Records are encoded in chunks of ``chunk_size``; each chunk is written as its own Parquet file in
a hidden folder beside the output (``.NAME.parts/part-000000.parquet``, each written atomically),
so a run that is killed resumes at the first missing chunk instead of starting over. A chunk is
reused only if it was made the same way: the folder's manifest records the encoder's identity
(kind, every option, vocabulary fingerprint, weight dtype), the model's files (content hashes),
the source, side and chunk size, and a chunk must hold exactly the ids of the records it stands
for; otherwise it is encoded again. When every
chunk is there they are merged into the output under a temporary name, renamed into place, and
the folder is removed: the output name never holds a half-written file. Within a chunk the
encoder sorts texts by length, so batches carry little padding.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import Any, Literal, Protocol

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from lsr.atomic import write_json_atomic
from lsr.encoders.base import Encoder
from lsr.errors import InputError, VectorFormatError
from lsr.fingerprint import model_identity, vocabulary_fingerprint
from lsr.threads import use_torch_threads
from lsr.vector_io import VectorWriter, read_metadata, read_vectors, write_vectors
from lsr.vectors import SparseCollection

CHUNK_SIZE = 1024
MANIFEST = "manifest.json"


def parts_folder(out: Path) -> Path:
    """Where the chunks of ``out`` live until the final file is complete."""
    return out.with_name(f".{out.name}.parts")


def encode_to_parquet(
    encoder: Encoder,
    records: Iterable[tuple[str, str]],
    out: str | os.PathLike,
    side: Literal["documents", "queries"] = "documents",
    chunk_size: int = CHUNK_SIZE,
    total: int | None = None,
    threads: int | None = None,
    progress: bool = True,
    run_name: str = "",
    model: str | None = None,
    pool: ChunkPool | None = None,
) -> Path:
    """Encode ``records`` with ``encoder`` into the vector file ``out``; return its path.

    ``run_name`` (e.g. the source) and ``model`` (the model folder or id the encoder was loaded
    from: its files are hashed) are recorded with the chunks, beside the encoder's identity:
    chunks left by a run that differs in any of them, or in side or chunk size, are discarded
    rather than mixed in. ``pool``: where the missing chunks are encoded (default: here, one
    after the other; :class:`lsr.distributed.RayChunkPool`: on a Ray actor pool); chunks are
    written by this process as they come back, so a rerun redoes only the missing ones.
    """
    if side not in ("documents", "queries"):
        raise InputError(f"side must be 'documents' or 'queries', got {side!r}")
    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if threads is not None:
        use_torch_threads(threads)
    out = Path(out)
    folder = parts_folder(out)
    job = {
        "run": run_name,
        "side": side,
        "chunk_size": chunk_size,
        "encoder": encoder_identity(encoder),
        "model": model_identity(model) if model is not None else None,
    }
    _prepare_parts(folder, job)
    bar = tqdm(
        total=total, unit="docs", desc=f"encoding {side}", disable=not progress, smoothing=0.1
    )
    pool = pool or LocalChunkPool(encoder, side, progress)
    with bar:
        try:
            parts = _encode_chunks(pool, records, chunk_size, folder, bar)
        except BaseException:
            pool.abandon()
            raise
    if not parts:
        write_vectors(out, encode_side(encoder, [], [], side))
    else:
        _merge(parts, out, encoder.vocabulary)
    shutil.rmtree(folder, ignore_errors=True)
    return out


def _encode_chunks(pool: ChunkPool, records, chunk_size: int, folder: Path, bar) -> list[Path]:
    """Every chunk's file: those of an earlier run kept, the missing ones encoded by ``pool``."""
    parts = []
    for number, chunk in enumerate(_chunks(records, chunk_size)):
        part = folder / f"part-{number:06d}.parquet"
        ids = [doc_id for doc_id, _ in chunk]
        if _complete(part, ids):
            bar.update(len(chunk))
        else:
            for done, vectors in pool.submit(part, [text for _, text in chunk], ids):
                write_vectors(done, _without_vocabulary(vectors))
                bar.update(len(vectors))
        parts.append(part)
    for done, vectors in pool.drain():
        write_vectors(done, _without_vocabulary(vectors))
        bar.update(len(vectors))
    return parts


class ChunkPool(Protocol):
    """Encodes chunks, perhaps several at once elsewhere; hands back the finished ones."""

    def submit(
        self, part: Path, texts: list[str], ids: list[str]
    ) -> Iterator[tuple[Path, SparseCollection]]:
        """Start encoding a chunk (to be written to ``part``); yield the chunks finished by
        now."""
        ...

    def drain(self) -> Iterator[tuple[Path, SparseCollection]]:
        """Yield every chunk still being encoded, as it finishes."""
        ...

    def abandon(self) -> None:
        """Forget the chunks in flight (the run stopped; a rerun encodes them again)."""
        ...


class LocalChunkPool:
    """Encodes each chunk here, when it is submitted."""

    def __init__(self, encoder: Encoder, side: str, progress: bool) -> None:
        self.encoder, self.side, self.progress = encoder, side, progress

    def submit(
        self, part: Path, texts: list[str], ids: list[str]
    ) -> Iterator[tuple[Path, SparseCollection]]:
        yield part, encode_side(self.encoder, texts, ids, self.side, self.progress)

    def drain(self) -> Iterator[tuple[Path, SparseCollection]]:
        return iter(())

    def abandon(self) -> None:
        pass


def encoder_identity(encoder: Encoder) -> dict[str, Any]:
    """Everything about an encoder that changes its vectors: kind, every option (lengths,
    pruning, batch size), the vocabulary, the dtype of a neural model's weights, and the same
    for the SPLADE document encoder inside an inference-free one."""
    identity: dict[str, Any] = {
        "kind": encoder.kind,
        "vocabulary": vocabulary_fingerprint(encoder.vocabulary, encoder.vocab_size, encoder.kind),
    }
    options = getattr(encoder, "options", None)
    if callable(options):
        identity["options"] = options()
    model = getattr(encoder, "model", None)
    if model is not None:
        identity["dtype"] = str(next(model.parameters()).dtype)
    documents = getattr(encoder, "documents", None)
    if documents is not None:
        identity["documents"] = encoder_identity(documents)
    return identity


def encode_side(
    encoder: Encoder, texts: list[str], ids: list[str], side: str, progress: bool = False
) -> SparseCollection:
    """``texts`` encoded as documents or as queries."""
    if side == "queries":
        return encoder.encode_queries(texts, ids)
    return encoder.encode_documents(texts, ids, progress=progress)


def _chunks(records: Iterable[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _prepare_parts(folder: Path, manifest: dict[str, object]) -> None:
    """Keep the chunks of an interrupted run of the same job; discard anything else."""
    path = folder / MANIFEST
    manifest = json.loads(json.dumps(manifest, default=str))  # as it reads back
    if folder.is_dir():
        try:
            same = json.loads(path.read_text(encoding="utf-8")) == manifest
        except (OSError, json.JSONDecodeError):
            same = False
        if same:
            return
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    write_json_atomic(path, manifest)


def _complete(part: Path, ids: list[str]) -> bool:
    """Whether a chunk file from an earlier run is there whole and holds exactly ``ids`` (a torn
    file, or one of other documents, is redone)."""
    if not part.is_file():
        return False
    try:
        read_metadata(part)
        return pq.read_table(part, columns=["id"]).column("id").to_pylist() == ids
    except (VectorFormatError, OSError, pa.ArrowException):
        return False


def _without_vocabulary(collection: SparseCollection) -> SparseCollection:
    """A chunk's copy of the vocabulary (30,522 tokens for BERT) is left to the final file."""
    return replace(collection, metadata=collection.metadata.without_vocabulary())


def _merge(parts: list[Path], out: Path, vocabulary: Sequence[str]) -> None:
    first = read_vectors(parts[0])
    metadata = replace(first.metadata, vocabulary=tuple(vocabulary))
    with VectorWriter(out, metadata) as writer:
        writer.write(first)
        for part in parts[1:]:
            writer.write(read_vectors(part))
