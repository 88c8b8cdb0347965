"""A living index: documents added, updated and deleted without a rebuild.

An index directory of immutable segments and commits (:mod:`index.segments`,
:mod:`index.commit`), changed by one writer at a time (:mod:`index.lock`):

- :meth:`LivingIndex.add` writes the new documents as a new segment; an id the index already
  holds is an update: its old copy is marked deleted in the same commit;
- :meth:`LivingIndex.delete` marks documents deleted (a new bitmap for each segment touched);
- :meth:`LivingIndex.merge` rewrites segments into at most ``max_segments``, dropping deleted
  documents; after every addition the tiered policy (:mod:`index.policy`) merges small segments
  when their count grows.

Each call is one commit (a merge by the policy one more), made live by one atomic rename, so a
crash leaves the index as it was before the call or as it is after it. Search goes through
:class:`~index.segmented.SegmentedIndex` (:attr:`LivingIndex.reader`). A plain index built by
``lsr index build`` becomes living at its first change: it is the first segment, in place.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from lsr.index import persist, policy
from lsr.index.attributes import Attributes
from lsr.index.commit import (
    SEGMENTS,
    Commit,
    SegmentEntry,
    is_living,
    publish,
    read_current,
    remove_unreferenced,
    write_deletes,
)
from lsr.index.config import BuildConfig, SearchDefaults
from lsr.index.lock import HOLDER, LOCK, write_lock
from lsr.index.segmented import SegmentedIndex
from lsr.index.segments import EXACT_MAX_DOCS, Segment, write_segment

from lsr.errors import IndexFormatError, InputError
from lsr.vectors import SparseCollection, VectorMetadata, check_same_vocabulary


class LivingIndex:
    """The writer of a living index; use as a context manager (it holds the write lock)."""

    def __init__(self, directory: Path, exact_max_docs: int = EXACT_MAX_DOCS) -> None:
        self.directory = directory
        self.exact_max_docs = exact_max_docs
        self._stack = contextlib.ExitStack()
        self._reader: SegmentedIndex | None = None

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike,
        metadata: VectorMetadata | None = None,
        config: BuildConfig | None = None,
        search_defaults: SearchDefaults | None = None,
        exact_max_docs: int = EXACT_MAX_DOCS,
    ) -> LivingIndex:
        """Open ``directory`` for writing: a living index, a plain one (made living), or a new
        one when it is missing or empty (``metadata`` then says what vectors it takes;
        ``config`` and ``search_defaults`` how its segments are built and searched)."""
        directory = Path(directory)
        plain = (directory / persist.MANIFEST).is_file()
        if not is_living(directory) and not plain:
            leftovers = [p.name for p in directory.iterdir()] if directory.is_dir() else []
            if set(leftovers) - {LOCK, HOLDER}:
                raise IndexFormatError(f"{directory}: exists and is not an lsr index")
            if metadata is None:
                raise IndexFormatError(f"{directory}: no index here (give metadata to create one)")
        directory.mkdir(parents=True, exist_ok=True)
        index = cls(directory, exact_max_docs)
        index._stack.enter_context(write_lock(directory))
        try:
            index._start(metadata, config, search_defaults)
        except BaseException:
            index.close()
            raise
        return index

    def _start(self, metadata, config, search_defaults) -> None:
        directory = self.directory
        if is_living(directory):
            commit = read_current(directory)
        elif (directory / persist.MANIFEST).is_file():
            commit = _adopt_plain(directory)
        else:
            commit = Commit(
                0, (), metadata.to_json(), (config or BuildConfig()).to_json(),
                (search_defaults or SearchDefaults()).to_json(), 1,
            )  # fmt: skip
            publish(directory, commit)
        remove_unreferenced(directory, commit)  # what a crashed writer left
        self._reader = SegmentedIndex.load(directory)
        self._deleted = {p.entry.name: p.deleted.copy() for p in self._reader.parts}
        #: Where each live document is: (segment name, position in it); for updates and deletes.
        self._where = {
            doc_id: (p.entry.name, local)
            for p in self._reader.parts
            for local, doc_id in zip(
                p.live_positions.tolist(), p.segment.ids_at(p.live_positions), strict=True
            )
        }

    def close(self) -> None:
        """Release the write lock (searching :attr:`reader` still works)."""
        self._stack.close()

    def __enter__(self) -> LivingIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- state --------------------------------------------------------------------------------

    @property
    def reader(self) -> SegmentedIndex:
        """The live commit, searchable."""
        assert self._reader is not None
        return self._reader

    @property
    def commit(self) -> Commit:
        return self.reader.commit

    def __len__(self) -> int:
        return len(self.reader)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._where

    def search(self, *args, **kwargs):
        """:meth:`SegmentedIndex.search` of the live commit."""
        return self.reader.search(*args, **kwargs)

    def search_batch(self, *args, **kwargs):
        """:meth:`SegmentedIndex.search_batch` of the live commit."""
        return self.reader.search_batch(*args, **kwargs)

    # -- changes ------------------------------------------------------------------------------

    def add(
        self,
        collection: SparseCollection,
        attributes: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> int:
        """Add ``collection`` as a new segment (documents whose id exists replace their old copy);
        return how many were updates. Then merge as the tiered policy says.

        ``attributes`` maps document ids to their ``{key: value}`` attributes (strings, numbers,
        dates: :mod:`index.attributes`), which filters test; ids not in ``collection`` are
        ignored (a side file may describe a whole corpus)."""
        if not isinstance(collection, SparseCollection):
            raise InputError(f"add needs a SparseCollection, got {type(collection).__name__}")
        reader = self.reader
        if collection.vocab_size != reader.vocab_size:
            raise InputError(
                f"the vectors have vocab_size {collection.vocab_size}, the index "
                f"{reader.vocab_size}; were they encoded with the same model?"
            )
        check_same_vocabulary(collection.metadata, reader.metadata)
        if len(collection) == 0:
            return 0
        records = [dict((attributes or {}).get(doc_id) or {}) for doc_id in collection.ids]
        table = Attributes.from_records(collection.ids, records)
        touched, updates = self._mark_deleted(collection.ids)
        name = f"seg-{self.commit.next_segment:06d}"
        entry = self._write(name, collection, table, len(self._where) + len(collection))
        self._publish([*self.commit.segments, entry], touched, self.commit.next_segment + 1)
        self._apply_policy()
        return updates

    def delete(self, ids: Iterable[str]) -> int:
        """Mark the documents of ``ids`` deleted; return how many the index held."""
        touched, deleted = self._mark_deleted(str(i) for i in ids)
        if touched:
            self._publish(list(self.commit.segments), touched, self.commit.next_segment)
        return deleted

    def merge(self, max_segments: int = 1) -> int:
        """Rewrite segments into at most ``max_segments``, dropping every deleted document;
        return how many segments were rewritten."""
        entries = list(self.commit.segments)
        groups = policy.force_merge(
            [e.n_live for e in entries], [e.n_deleted for e in entries], max_segments
        )
        if groups:
            self._rewrite(groups)
        return sum(len(g) for g in groups)

    def set_search_defaults(self, defaults: SearchDefaults) -> None:
        """Make ``defaults`` the parameters every search of every segment uses when it is not
        given them (``lsr index tune`` stores its choice so): a new commit, same segments."""
        commit = self.commit.with_segments(list(self.commit.segments), self.commit.next_segment)
        self._go_live(replace(commit, search_defaults=defaults.to_json()))

    # -- internals ----------------------------------------------------------------------------

    def _mark_deleted(self, ids: Iterable[str]) -> tuple[set[str], int]:
        """Delete the live copies of ``ids`` (in memory, until published): the names of the
        segments touched, and how many documents were deleted."""
        touched, count = set(), 0
        for doc_id in ids:
            found = self._where.pop(doc_id, None)
            if found is not None:
                name, local = found
                self._deleted[name][local] = True
                touched.add(name)
                count += 1
        return touched, count

    def _write(
        self, name: str, collection: SparseCollection, attributes: Attributes, n_live: int
    ) -> SegmentEntry:
        """Write a new segment (and its attributes, if any) of an index that will hold
        ``n_live`` live documents; its entry for the next commit."""
        config = segment_config(BuildConfig.from_json(self.commit.config), len(collection), n_live)
        defaults = SearchDefaults.from_json(self.commit.search_defaults)
        kind = write_segment(
            self.directory / SEGMENTS / name, collection, config, defaults, self.exact_max_docs
        )
        entry = SegmentEntry(name, f"{SEGMENTS}/{name}", kind, len(collection))
        if attributes.columns:
            entry = replace(entry, attributes=f"{SEGMENTS}/{name}.attrs")
            attributes.save(self.directory / entry.attributes)
        for local, doc_id in enumerate(collection.ids):
            self._where[doc_id] = (name, local)
        self._deleted[name] = np.zeros(len(collection), dtype=bool)
        return entry

    def _publish(self, entries: list[SegmentEntry], touched: set[str], next_segment: int) -> None:
        """Write the bitmaps of the ``touched`` segments and the commit of ``entries``; segments
        left without a live document are dropped."""
        generation = self.commit.generation + 1
        kept = []
        for entry in entries:
            deleted = self._deleted[entry.name]
            n_deleted = int(deleted.sum())
            if n_deleted == entry.n_docs:
                continue
            if entry.name in touched:
                bitmap = write_deletes(self.directory, entry.name, generation, deleted)
                entry = replace(entry, deletes=bitmap, n_deleted=n_deleted)
            kept.append(entry)
        self._go_live(self.commit.with_segments(kept, next_segment))

    def _go_live(self, commit: Commit) -> None:
        """Publish ``commit`` and search it from now on (segments already open stay open)."""
        publish(self.directory, commit)
        loaded = {p.entry.name: p.segment for p in self.reader.parts}
        self._reader = SegmentedIndex.of_commit(self.directory, commit, loaded)
        self._deleted = {p.entry.name: p.deleted.copy() for p in self._reader.parts}
        remove_unreferenced(self.directory, commit)

    def _apply_policy(self) -> None:
        while (group := policy.tiered_merge([e.n_live for e in self.commit.segments])) is not None:
            self._rewrite([group])

    def _rewrite(self, groups: list[list[int]]) -> None:
        """One commit in which each group of segments (positions) becomes one new segment, in
        the place of its first member, holding its live documents in order."""
        entries = list(self.commit.segments)
        parts = self.reader.parts
        replaced: dict[int, SegmentEntry | None] = {}
        next_segment = self.commit.next_segment
        for group in groups:
            metadata = self.reader.metadata
            live = [_live_rows(parts[p].segment, parts[p].deleted, metadata) for p in group]
            records = [
                r for p in group for r in parts[p].attributes.records(parts[p].live_positions)
            ]
            live = [c for c in live if len(c)]
            for p in group:
                replaced[p] = None
            if not live:
                continue
            name = f"seg-{next_segment:06d}"
            next_segment += 1
            collection = SparseCollection.concat(live)
            table = Attributes.from_records(collection.ids, records)
            replaced[group[0]] = self._write(name, collection, table, len(self._where))
        entries = [replaced[p] if p in replaced else e for p, e in enumerate(entries)]
        self._publish([e for e in entries if e is not None], set(), next_segment)


def segment_config(config: BuildConfig, n_docs: int, n_live: int) -> BuildConfig:
    """The build parameters of a segment of ``n_docs`` documents in an index that holds
    ``n_live`` live documents with it: ``n_postings`` scaled by the segment's share.

    ``n_postings`` budgets postings for the whole index (``n_postings x vocabulary`` of them for
    global-threshold pruning, ``n_postings`` per list for fixed-size pruning); given whole to a
    small segment, it would prune nothing there, and a query would score far more of that
    segment's documents than of the same documents in one index (measured: a 20k segment added
    to 200k documents, unscaled, made queries 2.25x slower than the rebuild;
    ``reports/bench-living.md``). Scaled, the segments' lists together hold what the index's
    would, and a merge of everything gets the full budget back.
    """
    share = n_docs / max(n_live, n_docs, 1)
    return replace(config, n_postings=max(1, round(config.n_postings * share)))


def _live_rows(segment: Segment, deleted: np.ndarray, metadata: VectorMetadata) -> SparseCollection:
    """The live documents of a segment as a collection (weights as stored)."""
    keep = np.flatnonzero(~deleted)
    indptr, terms, values = segment.forward.rows_at(keep)
    return SparseCollection(segment.ids_at(keep), indptr, terms, values, metadata)


def _adopt_plain(directory: Path) -> Commit:
    """The first commit of a plain index: itself, in place, as the one segment (path ".")."""
    from lsr.index.seismic import SeismicIndex

    index = SeismicIndex.load(directory)
    entry = SegmentEntry("base", ".", "seismic", len(index))
    commit = Commit(
        1, (entry,), index.metadata.to_json(), index.config.to_json(),
        index.search_defaults.to_json(), 1,
    )  # fmt: skip
    publish(directory, commit)
    return commit
