"""The sparse-vector format: the one contract between the encoders, the index and the evaluation.

In memory a :class:`SparseCollection` holds string ids and CSR arrays (``indptr`` int64,
``indices`` int32, ``values`` float32) plus metadata. Every row is *canonical*: term ids strictly
increasing, weights finite and strictly positive. Constructors sort unsorted rows and drop explicit
zeros (both are harmless), but refuse a term id repeated within one vector, because summing and
taking the maximum are both plausible and silently choosing one would change scores.

On disk a collection is a Parquet file (see :mod:`lsr.vector_io`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from lsr.errors import InputError, VectorFormatError
from lsr.fingerprint import vocabulary_fingerprint

FORMAT_VERSION = 1


@dataclass(frozen=True)
class VectorMetadata:
    """What a collection's weights mean: its vocabulary and where it came from.

    ``provenance`` is free-form (model, encoder kind, date, options); it travels with the vectors
    into the index manifest and the evaluation reports.

    ``vocab_fingerprint`` says what the term ids mean (see :func:`check_same_vocabulary`); left
    ``None`` it is computed from the vocabulary (or, without one, from the vocabulary size and
    the encoder kind). It is stored explicitly where the token list is dropped (``lsr encode``'s
    chunks) and read from files that have it; older files without it get the computed one.
    """

    vocab_size: int
    vocabulary: tuple[str, ...] | None = None
    provenance: Mapping[str, Any] = field(default_factory=dict)
    vocab_fingerprint: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.vocab_size, (int, np.integer)) or self.vocab_size <= 0:
            raise VectorFormatError(
                f"vocab_size must be a positive integer, got {self.vocab_size!r}"
            )
        if self.vocabulary is not None:
            object.__setattr__(self, "vocabulary", tuple(self.vocabulary))
            if len(self.vocabulary) != self.vocab_size:
                raise VectorFormatError(
                    f"vocabulary has {len(self.vocabulary)} tokens but vocab_size is {self.vocab_size}"
                )

    def __eq__(self, other: object) -> bool:
        """Equal metadata mean the same vocabulary, however its fingerprint is held."""
        if not isinstance(other, VectorMetadata):
            return NotImplemented
        mine = (self.vocab_size, self.vocabulary, dict(self.provenance))
        theirs = (other.vocab_size, other.vocabulary, dict(other.provenance))
        return mine == theirs and self.vocabulary_fingerprint == other.vocabulary_fingerprint

    @cached_property
    def vocabulary_fingerprint(self) -> str:
        """The stored fingerprint, or the one computed from the vocabulary (computed once)."""
        if self.vocab_fingerprint is not None:
            return self.vocab_fingerprint
        encoder = self.provenance.get("encoder")
        return vocabulary_fingerprint(self.vocabulary, self.vocab_size, encoder)

    def without_vocabulary(self) -> VectorMetadata:
        """The same metadata without the token list (30,522 tokens for BERT), fingerprint kept."""
        return replace(self, vocabulary=None, vocab_fingerprint=self.vocabulary_fingerprint)

    def describe(self) -> str:
        """The model (or encoder kind) the vectors came from, for messages."""
        return str(
            self.provenance.get("model") or self.provenance.get("encoder") or "unknown model"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "vocab_size": int(self.vocab_size),
            "vocabulary": list(self.vocabulary) if self.vocabulary is not None else None,
            "vocabulary_fingerprint": self.vocabulary_fingerprint,
            "provenance": dict(self.provenance),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "metadata") -> VectorMetadata:
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise VectorFormatError(
                f"{source}: unsupported lsr vector format version {version!r} "
                f"(this lsr reads version {FORMAT_VERSION})"
            )
        try:
            return cls(
                vocab_size=int(data["vocab_size"]),
                vocabulary=data.get("vocabulary"),
                provenance=data.get("provenance") or {},
                vocab_fingerprint=data.get("vocabulary_fingerprint"),
            )
        except KeyError as exc:
            raise VectorFormatError(f"{source}: missing metadata field {exc.args[0]!r}") from None


def check_same_vocabulary(queries: VectorMetadata, documents: VectorMetadata) -> None:
    """Refuse to score queries against documents whose term ids mean other tokens.

    Two collections of equal vocabulary size can still disagree (two BM25 models fitted on
    different corpora, a JSONL file converted without ``--vocab``): their scores would be
    meaningless, with no error. The vocabulary fingerprints must match.
    """
    if queries.vocabulary_fingerprint != documents.vocabulary_fingerprint:
        raise InputError(
            f"queries have vocabulary fingerprint {queries.vocabulary_fingerprint} "
            f"({queries.describe()}) but the documents have {documents.vocabulary_fingerprint} "
            f"({documents.describe()}): encode both with the same model"
        )


def provenance(**fields: Any) -> dict[str, Any]:
    """Provenance record stamped with the creation time (UTC, ISO 8601)."""
    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return {"created": stamp, **fields}


@dataclass
class SparseCollection:
    """Sparse vectors with string ids, in CSR layout.

    Build one with :meth:`from_csr`, :meth:`from_rows` or :meth:`from_dicts`; all of them validate
    and canonicalise. The dataclass constructor itself trusts its arguments (used internally on
    data that is already canonical).
    """

    ids: list[str]
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    metadata: VectorMetadata

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_csr(
        cls,
        ids: Sequence[str],
        indptr: np.ndarray,
        indices: np.ndarray,
        values: np.ndarray,
        metadata: VectorMetadata,
        source: str = "collection",
    ) -> SparseCollection:
        """Validate CSR arrays and return a canonical collection (see the module docstring)."""
        ids = list(ids)
        indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        indices = np.asarray(indices)
        values = np.asarray(values)
        _check_ids(ids, source)
        _check_indptr(indptr, len(ids), len(indices), len(values), source)
        if len(indices) and (not np.issubdtype(indices.dtype, np.integer)):
            raise VectorFormatError(f"{source}: term ids must be integers, got {indices.dtype}")
        indices = _check_term_ids(indices, metadata.vocab_size, ids, indptr, source)
        values = _check_weights(np.ascontiguousarray(values, dtype=np.float32), ids, indptr, source)
        indptr, indices, values = _canonical_rows(indptr, indices, values, ids, source)
        return cls(ids, indptr, indices, values, metadata)

    @classmethod
    def from_rows(
        cls,
        ids: Sequence[str],
        rows: Iterable[tuple[Sequence[int], Sequence[float]]],
        metadata: VectorMetadata,
        source: str = "collection",
    ) -> SparseCollection:
        """Collection from ``(term_ids, weights)`` pairs, one per id."""
        rows = list(rows)
        if len(rows) != len(ids):
            raise VectorFormatError(f"{source}: {len(ids)} ids but {len(rows)} vectors")
        for i, (term_ids, weights) in enumerate(rows):
            if len(term_ids) != len(weights):
                raise VectorFormatError(
                    f"{source}: vector {ids[i]!r} has {len(term_ids)} term ids "
                    f"but {len(weights)} weights"
                )
        indptr, indices, values = _stacked(rows, np.int64, np.float64)
        return cls.from_csr(ids, indptr, indices, values, metadata, source)

    @classmethod
    def from_canonical_rows(
        cls,
        ids: list[str],
        rows: Sequence[tuple[np.ndarray, np.ndarray]],
        metadata: VectorMetadata,
        source: str = "collection",
    ) -> SparseCollection:
        """Collection from rows their maker built canonical, without :meth:`from_rows`' checks.

        For an encoder's own output, checked where it came in: ``ids`` unique strings, every
        row's term ids strictly increasing within the vocabulary, its weights positive (what
        ``nonzero`` of a dense row gives). Only finiteness is checked, which no caller can
        guarantee of a model's arithmetic. The checks this skips cost a single query 0.05-0.1
        ms of the 3 ms a server spends encoding it; the result is :meth:`from_rows`' (tested).
        """
        indptr, indices, values = _stacked(rows, np.int32, np.float32)
        values = _check_weights(values, ids, indptr, source)
        return cls(ids, indptr, indices, values, metadata)

    @classmethod
    def from_dicts(
        cls,
        ids: Sequence[str],
        vectors: Iterable[Mapping[str, float]],
        metadata: VectorMetadata,
        source: str = "collection",
    ) -> SparseCollection:
        """Collection from ``{token: weight}`` mappings, tokens looked up in the vocabulary."""
        if metadata.vocabulary is None:
            raise VectorFormatError(
                f"{source}: token vectors need a vocabulary to map tokens to ids"
            )
        lookup = {token: i for i, token in enumerate(metadata.vocabulary)}
        rows = []
        for doc_id, vector in zip(ids, vectors):
            try:
                rows.append(([lookup[t] for t in vector], list(vector.values())))
            except KeyError as exc:
                raise VectorFormatError(
                    f"{source}: vector {doc_id!r} has token {exc.args[0]!r}, "
                    "which is not in the vocabulary"
                ) from None
        return cls.from_rows(ids, rows, metadata, source)

    @classmethod
    def empty(cls, metadata: VectorMetadata) -> SparseCollection:
        return cls(
            [],
            np.zeros(1, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.float32),
            metadata,
        )

    @classmethod
    def concat(cls, parts: Sequence[SparseCollection]) -> SparseCollection:
        """Concatenate collections that share a vocabulary; ids must stay unique."""
        if not parts:
            raise VectorFormatError("concat needs at least one collection")
        first = parts[0].metadata
        for part in parts[1:]:
            if part.metadata.vocab_size != first.vocab_size:
                raise VectorFormatError(
                    f"cannot concatenate collections with vocab_size {first.vocab_size} "
                    f"and {part.metadata.vocab_size}"
                )
        ids = [i for p in parts for i in p.ids]
        _check_ids(ids, "concatenated collection")
        offsets = np.cumsum([0] + [p.nnz for p in parts[:-1]])
        indptr = np.concatenate(
            [np.zeros(1, np.int64)] + [p.indptr[1:] + o for p, o in zip(parts, offsets)]
        )
        return cls(
            ids,
            indptr,
            np.concatenate([p.indices for p in parts]),
            np.concatenate([p.values for p in parts]),
            first,
        )

    # -- access ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @property
    def vocab_size(self) -> int:
        return self.metadata.vocab_size

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Term ids and weights of vector ``i`` (views, not copies)."""
        start, end = self.indptr[i], self.indptr[i + 1]
        return self.indices[start:end], self.values[start:end]

    def rows(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        for i, doc_id in enumerate(self.ids):
            yield (doc_id, *self.row(i))

    def lengths(self) -> np.ndarray:
        """Number of non-zeros of every vector."""
        return np.diff(self.indptr)

    def slice(self, start: int, stop: int) -> SparseCollection:
        """Rows ``start:stop`` as a new collection sharing no memory with this one."""
        stop = min(stop, len(self))
        lo, hi = self.indptr[start], self.indptr[stop]
        return SparseCollection(
            self.ids[start:stop],
            self.indptr[start : stop + 1] - lo,
            self.indices[lo:hi].copy(),
            self.values[lo:hi].copy(),
            self.metadata,
        )

    def to_dict(self, i: int) -> dict[str, float]:
        """Vector ``i`` as ``{token: weight}``; tokens are term ids as text without a vocabulary."""
        vocabulary = self.metadata.vocabulary
        term_ids, weights = self.row(i)
        if vocabulary is None:
            return {str(t): float(w) for t, w in zip(term_ids, weights)}
        return {vocabulary[t]: float(w) for t, w in zip(term_ids, weights)}

    def with_provenance(self, **fields: Any) -> SparseCollection:
        meta = replace(self.metadata, provenance={**self.metadata.provenance, **fields})
        return replace(self, metadata=meta)


# -- validation helpers (vectorised: they run on every file read) -------------------------------


def _check_ids(ids: list[str], source: str) -> None:
    seen: set[str] = set()
    for i, doc_id in enumerate(ids):
        if not isinstance(doc_id, str):
            raise VectorFormatError(
                f"{source}: id at position {i} is {type(doc_id).__name__} {doc_id!r}, "
                "expected a string"
            )
        if doc_id in seen:
            raise VectorFormatError(f"{source}: duplicate id {doc_id!r}")
        seen.add(doc_id)


def _check_indptr(indptr: np.ndarray, n_rows: int, n_indices: int, n_values: int, source: str):
    if n_indices != n_values:
        raise VectorFormatError(f"{source}: {n_indices} term ids but {n_values} weights")
    if indptr.ndim != 1 or len(indptr) != n_rows + 1 or indptr[0] != 0 or indptr[-1] != n_indices:
        raise VectorFormatError(
            f"{source}: indptr must have {n_rows + 1} entries from 0 to {n_indices}"
        )
    if np.any(np.diff(indptr) < 0):
        raise VectorFormatError(f"{source}: indptr must be non-decreasing")


def _row_of(position: int, indptr: np.ndarray) -> int:
    return int(np.searchsorted(indptr, position, side="right") - 1)


def _check_term_ids(indices, vocab_size, ids, indptr, source) -> np.ndarray:
    bad = np.flatnonzero((indices < 0) | (indices >= vocab_size))
    if len(bad):
        pos = int(bad[0])
        raise VectorFormatError(
            f"{source}: vector {ids[_row_of(pos, indptr)]!r} has term id {int(indices[pos])}, "
            f"outside the vocabulary [0, {vocab_size})"
        )
    return np.ascontiguousarray(indices, dtype=np.int32)


def _check_weights(values, ids, indptr, source) -> np.ndarray:
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if len(bad):
        pos = int(bad[0])
        raise VectorFormatError(
            f"{source}: vector {ids[_row_of(pos, indptr)]!r} has weight {float(values[pos])}; "
            "weights must be finite and non-negative"
        )
    return values


def _canonical_rows(indptr, indices, values, ids, source):
    """Sort every row by term id, drop zeros, refuse repeated term ids."""
    if len(indices) == 0:
        return indptr, indices, values
    row = np.repeat(np.arange(len(ids), dtype=np.int64), np.diff(indptr))
    same_row = row[1:] == row[:-1]
    step = np.diff(indices.astype(np.int64))
    if np.any(same_row & (step <= 0)):
        order = np.lexsort((indices, row))
        indices, values = indices[order], values[order]
        step = np.diff(indices.astype(np.int64))
        repeated = np.flatnonzero(same_row & (step == 0))
        if len(repeated):
            pos = int(repeated[0])
            raise VectorFormatError(
                f"{source}: vector {ids[row[pos]]!r} repeats term id {int(indices[pos])}"
            )
    keep = values > 0
    if not keep.all():
        counts = np.bincount(row[keep], minlength=len(ids))
        indptr = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices, values = indices[keep], values[keep]
    return indptr, np.ascontiguousarray(indices), np.ascontiguousarray(values)


def _stacked(
    rows: Sequence[tuple[Sequence[int], Sequence[float]]], index_dtype: type, value_dtype: type
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, indices, values)`` of ``rows`` laid end to end, in the dtypes asked for."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(terms) for terms, _ in rows], out=indptr[1:])
    indices = np.concatenate([np.asarray(t, dtype=index_dtype) for t, _ in rows] or [[]])
    values = np.concatenate([np.asarray(w, dtype=value_dtype) for _, w in rows] or [[]])
    return indptr, indices.astype(index_dtype, copy=False), values.astype(value_dtype, copy=False)
