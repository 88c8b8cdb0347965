"""Fingerprints: short stable hashes that say whether two things were made the same way.

Three places must never mix incompatible data silently: the evaluation cache (vectors of another
model or corpus), ``lsr encode``'s resume (chunks of another model or encoder option), and search
(queries whose term ids mean other tokens than the index's). Each compares fingerprints made here:
of JSON-serialisable settings, of a model's files (their contents), and of a vocabulary.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20
_LENGTH = 16  # hex digits: 64 bits, no accidental collision among a user's models and settings


def stable_hash(data: Any) -> str:
    """Hash of JSON-serialisable ``data``, independent of dict order."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:_LENGTH]


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's contents, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def model_identity(model: str) -> dict[str, Any]:
    """What makes an encoder what it is: every file of a local model folder (content hashes),
    or the id of a hub model or a built-in encoder such as ``bm25``."""
    path = Path(model)
    if not path.is_dir():
        return {"id": model}
    files = {
        str(file.relative_to(path)): file_hash(file)
        for file in sorted(p for p in path.rglob("*") if p.is_file())
    }
    return {"folder": str(path.resolve()), "files": files}


def vocabulary_fingerprint(
    vocabulary: Sequence[str] | None, vocab_size: int, encoder: str | None = None
) -> str:
    """Fingerprint of what term ids mean: the token list, in order (term id ``i`` is token
    ``i``); where no list exists, the vocabulary size and the encoder kind."""
    digest = hashlib.sha256()
    if vocabulary is not None:
        for token in vocabulary:
            digest.update(token.encode("utf-8", "surrogatepass") + b"\n")
    else:
        digest.update(json.dumps({"vocab_size": int(vocab_size), "encoder": encoder}).encode())
    return digest.hexdigest()[:_LENGTH]
