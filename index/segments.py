"""One segment of a living index: an immutable set of documents searched as a unit.

A segment is written once and never changed (Lucene's segments; Cutting and Pedersen,
"Optimizations for dynamic inverted index maintenance", SIGIR 1990): documents added later go
into new segments, deletions into a separate bitmap named by the commit (:mod:`index.commit`).

Two kinds, chosen by size when written:

- ``exact``, below :data:`EXACT_MAX_DOCS` documents: only the forward index, searched by scanning
  its live documents (:mod:`index.scan`). At this size a scan is as fast as Seismic (SciFact's
  5,183 documents: exact ~230 µs per query, Seismic ~255 µs at accuracy@10 0.95, see
  :mod:`index.config`), it is exact, and it costs no build: the many small segments of frequent
  additions are cheap to write and search.
- ``seismic``, from :data:`EXACT_MAX_DOCS` on: a :class:`~index.seismic.SeismicIndex` directory.

Both store the weights as the index's ``value_dtype``, so a document scores the same in either.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from lsr.index import persist
from lsr.index.config import BuildConfig, SearchDefaults
from lsr.index.forward import TWO_ARRAYS, Forward, ForwardIndex, load_forward
from lsr.index.integrity import check_documents
from lsr.index.seismic import SeismicIndex

from lsr.errors import IndexFormatError, InputError
from lsr.vectors import SparseCollection

#: Segments smaller than this are exact (see the module docstring).
EXACT_MAX_DOCS = 5_000


@dataclass(frozen=True)
class Segment:
    """A loaded segment: its documents' ids and stored vectors, and the Seismic index over them
    (``None`` for an exact segment)."""

    kind: str
    doc_ids: Sequence[str]
    forward: Forward
    seismic: SeismicIndex | None

    def __len__(self) -> int:
        return len(self.doc_ids)

    def ids_at(self, positions: np.ndarray) -> list[str]:
        """The ids of the documents at ``positions``."""
        return persist.ids_at(self.doc_ids, positions)

    def nbytes(self) -> dict[str, int]:
        if self.seismic is not None:
            return self.seismic.nbytes()
        sizes = {"forward": self.forward.nbytes, "postings": 0, "summaries": 0, "knn": 0}
        return {**sizes, "total": self.forward.nbytes}


def write_segment(
    directory: str | os.PathLike,
    collection: SparseCollection,
    config: BuildConfig,
    search_defaults: SearchDefaults,
    exact_max_docs: int = EXACT_MAX_DOCS,
) -> str:
    """Write ``collection`` as a segment into ``directory`` (atomically); return its kind."""
    if len(collection) >= exact_max_docs:
        SeismicIndex.build(collection, config, search_defaults=search_defaults).save(directory)
        return "seismic"
    forward = ForwardIndex.from_collection(collection, config.value_dtype).to_side_by_side()
    id_bytes, id_offsets = persist.encode_strings(collection.ids)
    arrays = {
        "doc_id_bytes": id_bytes,
        "doc_id_offsets": id_offsets,
        **{f"forward.{n}": a for n, a in forward.stored().items()},
    }
    manifest = {
        "segment_kind": "exact",
        "n_docs": len(collection),
        "vocab_size": collection.vocab_size,
        "value_dtype": config.value_dtype,
        "forward_layout": forward.layout,
    }
    persist.save_arrays(directory, arrays, manifest)
    return "exact"


def load_segment(
    directory: str | os.PathLike, kind: str, verify: bool = False, mmap: bool = True
) -> Segment:
    """Open a segment written by :func:`write_segment` (arrays memory-mapped unless ``mmap`` is
    False; ``verify``: also check the checksums)."""
    if kind == "seismic":
        index = SeismicIndex.load(directory, mmap=mmap, verify=verify)
        return Segment("seismic", index.doc_ids, index.forward, index)
    if kind != "exact":
        raise IndexFormatError(f"{directory}: unknown segment kind {kind!r}")
    manifest, arrays = persist.load_arrays(directory, mmap=mmap, verify=verify)
    source = Path(directory) / persist.MANIFEST
    try:
        forward = load_forward(
            arrays, manifest.get("forward_layout", TWO_ARRAYS), manifest["value_dtype"],
            int(manifest["vocab_size"]),
        )  # fmt: skip
        doc_ids = persist.StringList(arrays["doc_id_bytes"], arrays["doc_id_offsets"])
    except KeyError as exc:
        raise IndexFormatError(f"{source}: missing entry {exc.args[0]!r}") from None
    except InputError as exc:
        raise IndexFormatError(f"{source}: {exc}") from None
    check_documents(
        directory, int(manifest.get("n_docs", -1)), arrays["doc_id_bytes"],
        arrays["doc_id_offsets"], forward,
    )  # fmt: skip
    return Segment("exact", doc_ids, forward, None)
