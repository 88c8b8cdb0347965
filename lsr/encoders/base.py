"""What every encoder shares: the :class:`Encoder` protocol, input checks, output pruning, and the
``lsr.json`` file that names an encoder's kind and options inside its model folder.

An encoder turns texts into rows of a :class:`~lsr.vectors.SparseCollection` whose vocabulary is
the encoder's own (a tokenizer's word pieces for SPLADE, analysed terms for BM25). Queries and
documents go through separate methods because the siamese, inference-free and BM25 encoders all
treat the two sides differently.

An empty text is legitimate (Cranfield has two empty documents) and encodes to an empty vector.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from lsr.atomic import write_json_atomic
from lsr.errors import InputError, ModelError
from lsr.vectors import SparseCollection, VectorMetadata, provenance

CONFIG_FILE = "lsr.json"
CONFIG_VERSION = 1

Side = Literal["queries", "documents"]


@runtime_checkable
class Encoder(Protocol):
    """Texts in, sparse vectors out; every encoder of :mod:`lsr.encoders` implements this."""

    kind: str
    vocab_size: int
    vocabulary: list[str]

    def encode_queries(
        self, texts: Sequence[str], ids: Sequence[str] | None = None
    ) -> SparseCollection: ...

    def encode_documents(
        self, texts: Sequence[str], ids: Sequence[str] | None = None, progress: bool = False
    ) -> SparseCollection: ...

    def save(self, path: str | os.PathLike) -> None: ...


def check_inputs(texts: Sequence[str], ids: Sequence[str] | None) -> list[str]:
    """Validate texts (strings) and ids (unique strings, one per text); return the ids.

    Without ids, the positions ``"0", "1", ...`` are used, so a collection always has ids.
    Encoders build their collections from these ids without checking them again
    (:meth:`lsr.vectors.SparseCollection.from_canonical_rows`).
    """
    if isinstance(texts, str):
        raise InputError("texts must be a sequence of strings, got a single string")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(
                f"text at position {i} is {type(text).__name__} {text!r}, expected a string"
            )
    if ids is None:
        return [str(i) for i in range(len(texts))]
    ids = list(ids)
    if len(ids) != len(texts):
        raise InputError(f"{len(texts)} texts but {len(ids)} ids")
    for i, doc_id in enumerate(ids):
        if not isinstance(doc_id, str):
            raise InputError(
                f"id at position {i} is {type(doc_id).__name__} {doc_id!r}, expected a string"
            )
    repeated = [doc_id for doc_id, count in Counter(ids).items() if count > 1]
    if repeated:
        raise InputError(f"id {repeated[0]!r} is given more than once; ids must be unique")
    return ids


def check_pruning(top_k: int | None, threshold: float) -> None:
    if top_k is not None and (not isinstance(top_k, int) or top_k <= 0):
        raise InputError(f"top_k must be a positive integer or None, got {top_k!r}")
    if not isinstance(threshold, (int, float)) or threshold < 0:
        raise InputError(f"threshold must be a non-negative number, got {threshold!r}")


def collection_metadata(
    vocabulary: Sequence[str], kind: str, side: Side, **details: Any
) -> VectorMetadata:
    """Metadata of an encoder's output: its vocabulary and how the vectors were made."""
    return VectorMetadata(
        vocab_size=len(vocabulary),
        vocabulary=tuple(vocabulary),
        provenance=provenance(encoder=kind, side=side, **details),
    )


def write_config(path: str | os.PathLike, kind: str, options: Mapping[str, Any]) -> None:
    """Write ``lsr.json`` (kind + options) into a model folder, atomically."""
    record = {"version": CONFIG_VERSION, "kind": kind, "options": dict(options)}
    write_json_atomic(Path(path) / CONFIG_FILE, record)


def read_config(path: str | os.PathLike) -> dict[str, Any] | None:
    """The ``lsr.json`` record of a model folder, or None when the folder has none."""
    target = Path(path) / CONFIG_FILE
    if not target.is_file():
        return None
    try:
        record = json.loads(target.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{target}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(record, dict) or "kind" not in record:
        raise ModelError(f"{target}: expected an object with a 'kind' field")
    if record.get("version") != CONFIG_VERSION:
        raise ModelError(
            f"{target}: unsupported lsr.json version {record.get('version')!r} "
            f"(this lsr reads version {CONFIG_VERSION})"
        )
    record.setdefault("options", {})
    return record
