"""Where encoded corpora and built indexes are kept between runs, and what names them.

The second ``lsr eval`` of a model on a dataset must skip encoding and indexing, and must never
reuse vectors of another model or of a changed corpus. So a cache entry is named by fingerprints:
the model's files (their names, sizes and contents) or hub id, the dataset's corpus file (path,
size, modification time) or ir-datasets id, and the build parameters of an index. Entries are
written under a temporary name and renamed into place, so a killed run leaves no half entry.

Root: ``$LSR_CACHE``, else ``.cache/lsr`` under the current directory (``make clean`` removes it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from lsr.datasets import BeirFolder, Dataset

_CHUNK = 1 << 20


def cache_root(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("LSR_CACHE") or Path(".cache") / "lsr")


def fingerprint(data: Any) -> str:
    """Short stable hash of JSON-serialisable data."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def slug(text: str) -> str:
    """A readable, filesystem-safe prefix for a cache entry (the hash carries the identity)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text.strip("/")).strip("_")[-40:] or "x"


def model_identity(model: str) -> dict[str, Any]:
    """What makes an encoder what it is: every file of a local model folder (content hashes),
    or the id of a hub model or a built-in encoder such as ``bm25``."""
    path = Path(model)
    if not path.is_dir():
        return {"id": model}
    files = {}
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        files[str(file.relative_to(path))] = _file_hash(file)
    return {"folder": str(path.resolve()), "files": files}


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_identity(dataset: Dataset) -> dict[str, Any]:
    """The corpus a cache entry was computed from."""
    if isinstance(dataset, BeirFolder):
        stat = dataset.corpus_path.stat()
        return {
            "corpus": str(dataset.corpus_path.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
        }
    return {"id": dataset.name}


def entry_dir(root: Path, model: str, dataset: Dataset, name: str) -> Path:
    """The folder holding a model's encoded corpus and indexes for a dataset; ``name`` is the
    model's readable name (the fingerprint carries its identity)."""
    key = fingerprint({"model": model_identity(model), "dataset": dataset_identity(dataset)})
    return root / slug(dataset.name) / f"{slug(name)}-{key}"
