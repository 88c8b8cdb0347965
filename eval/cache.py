"""Where encoded corpora and built indexes are kept between runs, and what names them.

The second ``lsr eval`` of a model on a dataset must skip encoding and indexing, and must never
reuse vectors of another model or of a changed corpus. So a cache entry is named by fingerprints:
the model's files (their names, sizes and contents) or hub id, the dataset's corpus file (path,
size, modification time) or ir-datasets id, and the build parameters of an index. Entries are
written under a temporary name and renamed into place, so a killed run leaves no half entry.

Root: ``$LSR_CACHE``, else ``.cache/lsr`` under the current directory (``make clean`` removes it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from lsr.datasets import BeirFolder, Dataset
from lsr.fingerprint import model_identity, stable_hash


def cache_root(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("LSR_CACHE") or Path(".cache") / "lsr")


def slug(text: str) -> str:
    """A readable, filesystem-safe prefix for a cache entry (the hash carries the identity)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text.strip("/")).strip("_")[-40:] or "x"


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
    key = stable_hash({"model": model_identity(model), "dataset": dataset_identity(dataset)})
    return root / slug(dataset.name) / f"{slug(name)}-{key}"
