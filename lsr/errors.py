"""The small exception hierarchy of lsr.

Every error a user can cause is an :class:`LsrError`; its message names the file, line, field or
parameter at fault and what was expected, so that the CLI can print it without a traceback.
"""

from __future__ import annotations


class LsrError(Exception):
    """Base class of every error lsr raises on purpose."""


class InputError(LsrError, ValueError):
    """A parameter or an input value is invalid."""


class VectorFormatError(InputError):
    """A sparse-vector file or collection breaks the vector contract (see ``lsr.vectors``)."""


class DatasetError(InputError):
    """A corpus, query or qrels source is missing or malformed."""


class ModelError(LsrError):
    """A model folder or hub id cannot be loaded as the requested encoder."""


class IndexFormatError(LsrError):
    """An index directory is missing, truncated, corrupted or not an lsr index."""


def where(path: object, line: int | None = None, field: str | None = None) -> str:
    """Format a location prefix such as ``corpus.jsonl, line 12, field 'text'`` for messages."""
    parts = [str(path)]
    if line is not None:
        parts.append(f"line {line}")
    if field is not None:
        parts.append(f"field {field!r}")
    return ", ".join(parts)


class IndexLockedError(LsrError):
    """Another writer holds an index's write lock."""
