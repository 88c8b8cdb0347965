"""The peer of the index benchmark: ``pyseismic-lsr``, the official Rust Seismic, driven from Python.

It gets exactly our vectors: documents go in through ``SeismicDataset.add_documents_by_id`` (CSR
arrays of term ids, so no JSONL parsing sits inside its build time, as none sits inside ours),
and a term id ``t`` is the component ``"t"`` of its queries. Every call is pinned to one thread
(``num_threads=1``, and ``RAYON_NUM_THREADS=1`` for whatever the bindings start on their own).

Query preparation (turning term ids into its fixed-width string arrays) happens once, before
any timing, so latencies measure its search and nothing of ours.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lsr.vectors import SparseCollection

os.environ.setdefault("RAYON_NUM_THREADS", "1")

#: Build parameters, named as in our BuildConfig and in pyseismic-lsr's build functions.
BUILD_PARAMETERS = (
    "n_postings",
    "centroid_fraction",
    "min_cluster_size",
    "summary_energy",
    "max_fraction",
    "doc_cut",
)

SUFFIX = ".index.seismic"


@dataclass(frozen=True)
class PeerQueries:
    """Queries in the peer's input layout: fixed-width string ids and components, float32 values."""

    ids: np.ndarray
    components: list[np.ndarray]
    values: list[np.ndarray]


def prepare_queries(queries: SparseCollection) -> PeerQueries:
    import seismic

    string = seismic.get_seismic_string()
    components, values = [], []
    for _, term_ids, weights in queries.rows():
        components.append(term_ids.astype(str).astype(string))
        values.append(np.ascontiguousarray(weights, dtype=np.float32))
    return PeerQueries(np.array(queries.ids, dtype=string), components, values)


class PeerSeismic:
    """A pyseismic-lsr ``SeismicIndex`` (u16 components, f16 values: the default variant)."""

    def __init__(self, index) -> None:
        self.index = index

    @classmethod
    def build(cls, collection: SparseCollection, params: dict, threads: int = 1) -> PeerSeismic:
        """Index ``collection`` with ``params`` (keys from :data:`BUILD_PARAMETERS`)."""

        dataset = cls.dataset(collection)
        return cls.build_from(dataset, params, threads)

    @staticmethod
    def dataset(collection: SparseCollection):
        import seismic

        dataset = seismic.SeismicDataset(dim=collection.vocab_size)
        dataset.add_documents_by_id(
            collection.ids,
            collection.indices.astype(np.int64),
            np.ascontiguousarray(collection.values, dtype=np.float32),
            collection.indptr,
        )
        return dataset

    @classmethod
    def build_from(cls, dataset, params: dict, threads: int = 1) -> PeerSeismic:
        import seismic

        unknown = set(params) - set(BUILD_PARAMETERS)
        if unknown:
            raise ValueError(f"pyseismic-lsr has no build parameter {sorted(unknown)[0]!r}")
        return cls(seismic.SeismicIndex.build_from_dataset(dataset, num_threads=threads, **params))

    def save(self, prefix: Path) -> Path:
        """Save to ``<prefix>.index.seismic`` (the peer adds the suffix); returns that path."""
        self.index.save(str(prefix))
        return Path(str(prefix) + SUFFIX)

    @classmethod
    def load(cls, path: Path) -> PeerSeismic:
        import seismic

        return cls(seismic.SeismicIndex.load(str(path)))

    def search(
        self,
        queries: PeerQueries,
        i: int,
        k: int,
        query_cut: int,
        heap_factor: float,
        first_sorted: bool,
    ) -> list[str]:
        """Ids of the top ``k`` documents of query ``i`` by the peer's single-query search."""
        hits = self.index.search(
            str(queries.ids[i]),
            queries.components[i],
            queries.values[i],
            k=k,
            query_cut=query_cut,
            heap_factor=heap_factor,
            sorted=first_sorted,
        )
        return [doc_id for _, _, doc_id in hits]

    def batch_search(
        self,
        queries: PeerQueries,
        k: int,
        query_cut: int,
        heap_factor: float,
        first_sorted: bool,
        threads: int = 1,
    ) -> list[list[str]]:
        """Ids of the top ``k`` documents of every query by the peer's batch search."""
        results = self.index.batch_search(
            queries.ids,
            queries.components,
            queries.values,
            k=k,
            query_cut=query_cut,
            heap_factor=heap_factor,
            sorted=first_sorted,
            num_threads=threads,
        )
        return [[doc_id for _, _, doc_id in hits] for hits in results]


_SPACE_LINE = re.compile(r"^\s*(?:[├└]─\s*)?([\w ]+):\s*(\d+) Bytes", re.MULTILINE)


def parse_space_usage(text: str) -> dict[str, int]:
    """The byte counts ``print_space_usage_byte`` (and its build log) print, by component name.

    The peer reports its memory layout only as text: ``Forward Index: N Bytes``, ``summaries:
    N Bytes``, ``Total: N Bytes``...; names are lower-cased with underscores.
    """
    return {
        name.strip().lower().replace(" ", "_"): int(count)
        for name, count in _SPACE_LINE.findall(text)
    }
