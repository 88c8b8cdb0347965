"""Search over the segments of one commit of a living index: fan out, then merge the top-k.

Every segment returns the top-k of its live documents (its deleted ones never scored:
:meth:`SeismicIndex.search_batch <index.seismic.SeismicIndex.search_batch>`'s ``exclude``, or a
scan of the live ones for exact segments), with positions made global by the segment's offset;
the k best of those ``n_segments x k`` candidates are the index's top-k. The global top-k is a
subset of the union of the segments' top-k, so the merge loses nothing: exact segments give exact
results, Seismic segments their usual approximation, and a document's score is the same whichever
segment holds it (same stored weights, same :func:`~index.forward.dot_dense`). Ties are broken by
lower global position, as :mod:`index.topk` does within a segment.

:class:`SegmentedIndex` answers what :class:`~index.seismic.SeismicIndex` answers to its readers
(``search``, ``search_batch``, ``exact()``, ``doc_ids``, ``metadata``, ``search_defaults``...),
so the CLI, the evaluation and the service search either through :func:`index.open.open_index`.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
from lsr.index import bitset
from lsr.index.attributes import Attributes
from lsr.index.commit import Commit, SegmentEntry, read_current, read_deletes
from lsr.index.config import BuildConfig, SearchDefaults, SearchParams
from lsr.index.filters import Filter, parse
from lsr.index.persist import Taken
from lsr.index.queries import check_batch, query_arrays, single_query
from lsr.index.remembered import Remembered
from lsr.index.results import SearchResults, row_hits
from lsr.index.scan import scan
from lsr.index.segments import Segment, load_segment
from lsr.index.seismic import kernel_params
from lsr.index.selectivity import adapted
from lsr.index.shared_bound import NO_SEARCHERS, new_shared, publish_results
from numba import njit

from lsr.errors import IndexFormatError
from lsr.vectors import SparseCollection, VectorMetadata

T = TypeVar("T")

#: Attempts at opening the live commit while writers replace it (see :meth:`SegmentedIndex.load`).
OPEN_ATTEMPTS = 5
#: A filtered search of a Seismic segment scans the allowed documents instead when they are at
#: most this fraction of the segment: scanning costs their non-zeros, while Seismic, whose block
#: summaries know nothing of the filter, stays near its unfiltered cost and loses accuracy as
#: the allowed documents thin out. Measured on 220k synthetic documents (``reports/
#: bench-living.md``): a scan costs ~1.2 µs per allowed document (0.9 ms at 1%, 26 ms at 10%),
#: Seismic 2.8-2.9 ms at 1-10% (accuracy@10 0.83 at 1%, 0.96 at 10%), so they cross near 1.1%.
SCAN_FRACTION = 0.015
#: Document sets of this many filters are kept per segment (a service sees few distinct ones).
FILTER_CACHE = 64


@dataclass(frozen=True)
class LiveSegment:
    """A segment as one commit sees it: its deletions and the global position of its first
    document."""

    entry: SegmentEntry
    segment: Segment
    deleted: np.ndarray
    offset: int
    attributes: Attributes

    @cached_property
    def excluded(self) -> np.ndarray:
        return bitset.from_mask(self.deleted)

    @cached_property
    def live_positions(self) -> np.ndarray:
        return np.flatnonzero(~self.deleted)

    @cached_property
    def _filtered(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {}

    def allowed(self, filter_: Filter) -> tuple[np.ndarray, np.ndarray]:
        """The live documents ``filter_`` allows: their positions, and the bitset of the others
        (what Seismic skips), computed once per filter and kept."""
        found = self._filtered.get(filter_.key)
        if found is None:
            passing = filter_.mask(self.attributes) & ~self.deleted
            found = (np.flatnonzero(passing), bitset.from_mask(~passing))
            if len(self._filtered) >= FILTER_CACHE:
                self._filtered.pop(next(iter(self._filtered)))
            self._filtered[filter_.key] = found
        return found


class SeismicPlan(NamedTuple):
    """A single query's settings as :meth:`SegmentedIndex._search_seismic` passes them on."""

    k: int
    with_knn: tuple  # kernel_params of a segment with a kNN graph
    without_knn: tuple  # and of one without
    #: The shared row of one search before anything is published, copied per search.
    empty_row: np.ndarray


class SegmentIds(Sequence[str]):
    """The ids of all segments' documents (deleted ones included) by global position."""

    def __init__(self, parts: Sequence[LiveSegment]) -> None:
        self._parts = parts
        self._total = sum(len(p.segment) for p in parts)
        self._offsets = [p.offset for p in parts]  # for bisect, which takes a list at C speed
        self._taken = Taken()

    def __len__(self) -> int:
        return self._total

    def __getitem__(self, position):  # type: ignore[override]
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        position = int(position)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(position)
        part = self._parts[bisect_right(self._offsets, position) - 1]
        return part.segment.doc_ids[position - part.offset]

    def take(self, positions: np.ndarray | Sequence[int]) -> list[str]:
        """The ids at ``positions`` (non-negative), each segment's read in one call
        (:meth:`Segment.ids_at`): a search's k hits cost a few calls, not k lookups; those
        returned lately are kept (:class:`~index.persist.Taken`)."""
        return self._taken.take(positions, self._read)

    def _read(self, positions: list[int]) -> list[str]:
        """The ids at ``positions`` grouped by segment in plain Python: grouped with numpy
        (``searchsorted``, ``unique``, a mask per segment) the ten hits of a query over two 500k
        shards took ~26 µs warm and 100-200 µs right after the shards' kernels (cold caches;
        1M synthetic, Zen 4), of a ~2 ms query; this way ~9 warm."""
        if positions and not 0 <= min(positions) <= max(positions) < self._total:
            raise IndexError(max(positions) if min(positions) >= 0 else min(positions))
        groups: dict[int, list[int]] = {}  # owner -> the rows it answers
        for row, position in enumerate(positions):
            groups.setdefault(bisect_right(self._offsets, position) - 1, []).append(row)
        ids: list[str] = [""] * len(positions)
        for owner, rows in groups.items():
            part = self._parts[owner]
            local = [positions[row] - part.offset for row in rows]
            for row, doc_id in zip(rows, part.segment.ids_at(local)):
                ids[row] = doc_id
        return ids


class SegmentedIndex:
    """The documents of one commit of a living index, searched as one index (read-only)."""

    #: Whether a search's segments skip blocks against the best k-th score any of them holds
    #: (:mod:`index.shared_bound`); off, each skips against its own heap (benchmarks compare).
    share_bound: bool = True

    def __init__(
        self, directory: Path, commit: Commit, parts: list[LiveSegment], exact: bool = False
    ) -> None:
        self.directory = Path(directory)
        self.commit = commit
        self.parts = parts
        self.is_exact = exact
        self.metadata = VectorMetadata.from_json(commit.metadata, str(directory))
        self.config = BuildConfig.from_json(commit.config)
        self.search_defaults = SearchDefaults.from_json(commit.search_defaults)
        self.doc_ids = SegmentIds(parts)
        self._plans: Remembered[SeismicPlan | None] = Remembered()

    @classmethod
    def load(
        cls, directory: str | os.PathLike, verify: bool = False, mmap: bool = True
    ) -> SegmentedIndex:
        """Open the live commit of ``directory`` (``verify``: check every segment's checksums;
        ``mmap``: False reads the segments into memory). A writer may publish a new commit and
        remove the files of an old one while this reads them; then the newer commit is opened."""
        directory = Path(directory)
        for attempt in range(OPEN_ATTEMPTS):
            commit = read_current(directory)
            try:
                return cls.of_commit(directory, commit, verify=verify, mmap=mmap)
            except IndexFormatError:
                moved_on = read_current(directory).generation != commit.generation
                if not moved_on or attempt == OPEN_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def of_commit(
        cls,
        directory: Path,
        commit: Commit,
        loaded: dict[str, Segment] | None = None,
        verify: bool = False,
        mmap: bool = True,
    ) -> SegmentedIndex:
        """The index of ``commit``; segments in ``loaded`` (by name) are not opened again."""
        loaded = loaded or {}
        parts, offset = [], 0
        for entry in commit.segments:
            segment = loaded.get(entry.name) or load_segment(
                directory / entry.path, entry.kind, verify, mmap
            )
            if len(segment) != entry.n_docs:
                raise IndexFormatError(
                    f"{directory / entry.path}: {len(segment)} documents, the commit "
                    f"{commit.file_name} says {entry.n_docs}"
                )
            attributes = (
                Attributes.load(directory / entry.attributes)
                if entry.attributes
                else Attributes.empty(entry.n_docs)
            )
            deleted = read_deletes(directory, entry)
            parts.append(LiveSegment(entry, segment, deleted, offset, attributes))
            offset += entry.n_docs
        return cls(directory, commit, parts)

    # -- what readers of an index ask -------------------------------------------------------------

    def __len__(self) -> int:
        """Live documents."""
        return sum(p.entry.n_live for p in self.parts)

    @property
    def vocab_size(self) -> int:
        return self.metadata.vocab_size

    @property
    def stats(self) -> dict[str, Any]:
        return {
            "n_docs": len(self),
            "generation": self.commit.generation,
            "segments": [
                {"name": p.entry.name, "kind": p.entry.kind, "documents": p.entry.n_docs,
                 "deleted": p.entry.n_deleted}
                for p in self.parts
            ],
        }  # fmt: skip

    def nbytes(self) -> dict[str, int]:
        totals = {"forward": 0, "postings": 0, "summaries": 0, "knn": 0, "total": 0}
        for part in self.parts:
            for name, size in part.segment.nbytes().items():
                totals[name] += size
        return totals

    def document(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """Term ids and stored weights (as float32) of the document at global ``position``."""
        part = self._part_of(position)
        return part.segment.forward.document(position - part.offset)

    def _part_of(self, position: int) -> LiveSegment:
        starts = [p.offset for p in self.parts]
        return self.parts[int(np.searchsorted(starts, position, side="right")) - 1]

    def exact(self) -> SegmentedIndex:
        """Exact search over the same commit: every segment scanned."""
        return type(self)(self.directory, self.commit, self.parts, exact=True)

    # -- search -------------------------------------------------------------------------------

    def search_batch(
        self,
        queries: SparseCollection,
        k: int = 10,
        query_cut: int | None = None,
        heap_factor: float | None = None,
        first_sorted: bool | None = None,
        n_knn: int | None = None,
        engine: str | None = None,
        filter: Mapping[str, Any] | str | None = None,
        global_order: bool | None = None,
    ) -> SearchResults:
        """Top-k of every query over the live documents (exact with :meth:`exact` or engine
        ``exact``; ``auto`` and ``seismic`` search Seismic segments with Seismic) that pass
        ``filter`` (:mod:`index.filters`), if given."""
        params = self._params(k, query_cut, heap_factor, first_sorted, n_knn, engine, global_order)
        queries = check_batch(queries, self.metadata)
        filter_ = parse(filter) if filter is not None else None
        docs, scores = self._run(queries, params, filter_, adapt=query_cut is None)
        return SearchResults(queries.ids, docs, scores, self.doc_ids)

    def search(
        self,
        term_ids: np.ndarray,
        weights: np.ndarray,
        k: int = 10,
        query_cut: int | None = None,
        heap_factor: float | None = None,
        first_sorted: bool | None = None,
        n_knn: int | None = None,
        engine: str | None = None,
        filter: Mapping[str, Any] | str | None = None,
        global_order: bool | None = None,
    ) -> tuple[list[str], np.ndarray]:
        """Top-k of one query: document ids and float32 scores, best first."""
        given = (k, query_cut, heap_factor, first_sorted, n_knn, engine, global_order)
        if filter is None and self._seismic_only:
            plan = self._seismic_plan(given)
            if plan is not None:
                return self._search_seismic(term_ids, weights, plan)
        params = self._params(*given)
        indptr, terms, values = single_query(term_ids, weights, self.vocab_size)
        query = SparseCollection(["q"], indptr, terms, values, self.metadata)
        filter_ = parse(filter) if filter is not None else None
        docs, scores = self._run(query, params, filter_, adapt=query_cut is None)
        return row_hits(self.doc_ids, docs[0], scores[0])

    @cached_property
    def _seismic_only(self) -> bool:
        """Whether every segment is a Seismic index with nothing deleted: a single query's
        search of each is then the single index's own (:meth:`_search_seismic`)."""
        return not self.is_exact and all(
            part.segment.seismic is not None and part.entry.n_deleted == 0 for part in self.parts
        )

    def _seismic_plan(self, given: tuple) -> SeismicPlan | None:
        """What :meth:`_search_seismic` needs of the settings ``given`` (``search``'s, in its
        order), or ``None`` where they ask for exact search (or a value cannot be hashed),
        remembered per distinct ``given`` until :attr:`search_defaults` is replaced
        (:mod:`index.remembered`: validating cost 15-30 µs between two searches of two shards)."""
        return self._plans.get((self.search_defaults,), given, self._new_plan)

    def _new_plan(self, given: tuple) -> SeismicPlan | None:
        params = self._params(*given)
        if params.engine == "exact":
            return None
        return SeismicPlan(
            params.k, kernel_params(params), kernel_params(params, knn=False),
            new_shared(1, len(self.parts), params.k)[0],
        )  # fmt: skip

    def _search_seismic(
        self, term_ids: np.ndarray, weights: np.ndarray, plan: SeismicPlan
    ) -> tuple[list[str], np.ndarray]:
        """One query over Seismic segments without deletions, without a filter: each segment
        searched by :meth:`SeismicIndex.search_positions <index.seismic.SeismicIndex.
        search_positions>` (its thread's searcher, one compiled call) and the rows merged in
        one more (:func:`merge_row`). The general path makes a batch of one query per segment
        and merges with numpy: on two 10k-document shards its Python alone cost ~190 µs of
        CPU a query against ~7 for the single index (``reports/sharded-single-s10.md``)."""
        terms, values = query_arrays(term_ids, weights)
        shared = plan.empty_row.copy() if self.share_bound else NO_SEARCHERS

        def search(slot: int) -> tuple[np.ndarray, np.ndarray]:
            seismic = self.parts[slot].segment.seismic
            kernel = plan.with_knn if seismic.knn.shape[1] else plan.without_knn
            return seismic.search_positions(terms, values, kernel, shared, slot)

        found = self._each_part(search)
        docs, scores = merge_row(
            tuple(d for d, _ in found), tuple(s for _, s in found), self._offsets, plan.k
        )
        return row_hits(self.doc_ids, docs, scores)

    @cached_property
    def _offsets(self) -> np.ndarray:
        return np.array([part.offset for part in self.parts], dtype=np.int64)

    def _each_part(self, search: Callable[[int], T]) -> list[T]:
        """``search(slot)`` of every segment, one after the other (each skipping against those
        before it through the shared rows); a sharded index runs them at once."""
        return [search(slot) for slot in range(len(self.parts))]

    def engine_for(self, engine: str | None = None) -> str:
        """``exact`` when every segment is scanned, else ``seismic`` (Seismic segments searched
        with Seismic, small ones scanned: :mod:`index.segments`)."""
        params = self._params(1, None, None, None, None, engine)
        return "exact" if self.is_exact or params.engine == "exact" else "seismic"

    def _params(
        self, k, query_cut, heap_factor, first_sorted, n_knn, engine, global_order=None
    ) -> SearchParams:
        return self.search_defaults.params_for(
            bool(self.config.knn), k, query_cut=query_cut, heap_factor=heap_factor,
            first_sorted=first_sorted, global_order=global_order, n_knn=n_knn, engine=engine,
        )  # fmt: skip

    def _run(
        self,
        queries: SparseCollection,
        params: SearchParams,
        filter_: Filter | None,
        adapt: bool,
    ):
        """The merged top-k of every segment's; ``adapt``: scale the query_cut to the share of
        each segment's documents that may be returned (:mod:`index.selectivity`). Each segment
        skips against the best k-th score of those searched before it (:mod:`index.shared_bound`)."""
        shared = self._shared(len(queries), params.k)
        found = self._each_part(
            lambda slot: self._search_part(slot, queries, params, filter_, adapt, shared)
        )
        return merge_top_k(found, len(queries), params.k)

    def _shared(self, n_queries: int, k: int) -> np.ndarray | None:
        """The rows through which the segments of one search share their top-k scores, or
        ``None`` where :attr:`share_bound` is off."""
        return new_shared(n_queries, len(self.parts), k) if self.share_bound else None

    def _search_part(
        self,
        slot: int,
        queries: SparseCollection,
        params: SearchParams,
        filter_: Filter | None,
        adapt: bool,
        shared: np.ndarray | None,
    ):
        """The top-k of segment ``slot`` (global positions), searcher ``slot`` of ``shared``."""
        part = self.parts[slot]
        positions, excluded = (
            part.allowed(filter_) if filter_ else (part.live_positions, part.excluded)
        )
        seismic = part.segment.seismic
        scanned = self.is_exact or seismic is None or params.engine == "exact"
        if scanned or len(positions) <= SCAN_FRACTION * len(part.segment):
            arrays = (queries.indptr, queries.indices, queries.values)
            docs, scores = scan(part.segment.forward, positions, arrays, params.k)
            if shared is not None:
                publish_results(shared, slot, scores, docs)
        else:
            n_knn = params.n_knn if seismic.knn.shape[1] else 0
            if adapt:
                params = adapted(params, len(positions), len(part.segment))
            # Nothing to skip (a shard, a segment without deletions): no exclusion bitset, so
            # Seismic reuses its thread's scratch arrays instead of making new ones per search.
            skipped = filter_ is not None or part.entry.n_deleted > 0
            result = seismic.search_batch(
                queries, k=params.k, query_cut=params.query_cut, heap_factor=params.heap_factor,
                first_sorted=params.first_sorted, global_order=params.global_order, n_knn=n_knn,
                exclude=excluded if skipped else None, engine="seismic", shared=shared,
                slot=slot,
            )  # fmt: skip
            docs, scores = result.docs, result.scores
        return np.where(docs >= 0, docs + part.offset, -1), scores


@njit(nogil=True, cache=True)
def merge_row(docs, scores, offsets, k):
    """:func:`merge_top_k` of one query, compiled: the k best of the segments' rows (``docs[s]``
    positions in segment ``s``, ``-1`` padding; ``scores[s]``), higher score first, then lower
    global position (``docs[s] + offsets[s]``); ``-1`` / ``0`` padding last. A selection over
    ``n_segments x k`` candidates: a handful of segments of ten."""
    out_docs = np.full(k, -1, np.int64)
    out_scores = np.zeros(k, np.float32)
    taken = np.zeros((len(docs), k), np.bool_)  # every row holds k places
    for i in range(k):
        best, best_s, best_j = -1, -1, -1
        for s in range(len(docs)):
            for j in range(len(docs[s])):
                if docs[s][j] < 0 or taken[s, j]:
                    continue
                position = docs[s][j] + offsets[s]
                score = scores[s][j]
                if (
                    best < 0
                    or score > out_scores[i]
                    or (score == out_scores[i] and position < best)
                ):
                    best, best_s, best_j = position, s, j
                    out_scores[i] = score
        if best < 0:
            out_scores[i] = 0.0
            break
        taken[best_s, best_j] = True
        out_docs[i] = best
    return out_docs, out_scores


def merge_top_k(
    found: list[tuple[np.ndarray, np.ndarray]], n_queries: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k best of the segments' top-k of each query: higher score first, then lower global
    position; ``-1`` / ``0`` padding last."""
    if not found:
        return np.full((n_queries, k), -1, np.int64), np.zeros((n_queries, k), np.float32)
    docs = np.concatenate([d for d, _ in found], axis=1)
    scores = np.concatenate([s for _, s in found], axis=1)
    missing = docs < 0
    order = np.lexsort(
        (np.where(missing, np.iinfo(np.int64).max, docs), np.where(missing, np.inf, -scores)),
        axis=1,
    )[:, :k]
    return np.take_along_axis(docs, order, 1), np.take_along_axis(scores, order, 1)
