"""SeismicIndex: the forward index, the blocked posting lists, their summaries and an optional
kNN graph, composed into one searchable, persistable object.

Seismic: Bruch, Nardini, Rulli, Venturini, "Efficient Inverted Indexes for Approximate Retrieval
over Learned Sparse Representations", SIGIR 2024. The build runs the phases of the paper in
order (forward index, static pruning, blocking by clustering, summaries, optionally the kNN
graph of CIKM 2024), each a parallel Numba kernel; search runs in parallel over queries.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

import numba
import numpy as np
from lsr.index import bitset, persist
from lsr.index.config import BuildConfig, SearchDefaults, SearchParams, check_knn
from lsr.index.engine import EngineTiming, measure, resolve
from lsr.index.exact import ExactIndex
from lsr.index.forward import TWO_ARRAYS, Forward, ForwardIndex, load_forward
from lsr.index.integrity import check_index
from lsr.index.knn import build_knn_graph
from lsr.index.parallel import launch_guard
from lsr.index.postings import PostingLists, cluster
from lsr.index.pruning import prune
from lsr.index.queries import check_batch, check_canonical, query_arrays
from lsr.index.remembered import Remembered
from lsr.index.results import SearchResults, row_hits
from lsr.index.search import Searcher, new_scratch, new_searcher
from lsr.index.search import search_batch as _search_parallel
from lsr.index.search import search_serial as _search_serial
from lsr.index.search import search_single as _search_single
from lsr.index.shared_bound import NO_SEARCHERS, check_shared, unshared
from lsr.index.summary import MASK_BLOCKS, Summaries, build_summaries
from tqdm.auto import tqdm

from lsr.errors import IndexFormatError, InputError
from lsr.vectors import SparseCollection, VectorMetadata

PHASES = ("forward index", "pruning", "clustering", "summaries", "knn graph", "engine timing")


def summary_mask_blocks(manifest: dict[str, Any], source: str) -> int:
    """The summaries' ``mask_blocks`` (:mod:`index.summary`): format 5 manifests state it
    (0 for an older index loaded and saved again), older formats had no masked groups."""
    if manifest["format_version"] < 5:
        return 0
    value = manifest["summary_mask_blocks"]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MASK_BLOCKS:
        raise IndexFormatError(
            f"{source}: summary_mask_blocks must be an integer in [0, {MASK_BLOCKS}], got {value!r}"
        )
    return value


def kernel_params(params: SearchParams, knn: bool = True) -> tuple:
    """``params`` in the order and types the single-query kernel takes them (``knn`` False:
    for an index without a kNN graph, which expands nothing)."""
    return (
        params.k, params.query_cut, np.float32(params.heap_factor), params.first_sorted,
        params.global_order, params.n_knn if knn else 0,
    )  # fmt: skip


class SeismicIndex:
    """Approximate top-k retrieval by inner product over learned sparse vectors.

    Build with :meth:`build`, open a saved one with :meth:`load`; :meth:`search_batch` and
    :meth:`search` take the query-time parameters of the paper (``query_cut``,
    ``heap_factor``, ``first_sorted``, ``n_knn``); each one left ``None`` is taken from
    :attr:`search_defaults`, which the index stores with itself.
    """

    def __init__(
        self,
        doc_ids: Sequence[str],
        metadata: VectorMetadata,
        config: BuildConfig,
        forward: Forward,
        postings: PostingLists,
        summaries: Summaries,
        knn: np.ndarray,
        stats: dict[str, Any],
        search_defaults: SearchDefaults | None = None,
    ) -> None:
        self.doc_ids = doc_ids
        self.metadata = metadata
        self.config = config
        self.forward = forward
        self.postings = postings
        self.summaries = summaries
        self.knn = knn
        self.stats = stats
        #: Both engines' latency on this index (:mod:`index.engine`); None: not measured.
        self.timing = EngineTiming.from_stats(stats)
        self._exact: ExactIndex | None = None
        self._exact_lock = threading.Lock()
        self.search_defaults = search_defaults or SearchDefaults()
        check_knn(self.search_defaults.n_knn, self.knn.shape[1] > 0)
        self._max_blocks = int(np.diff(postings.list_block_ptr).max(initial=0))
        self._nothing_excluded = bitset.empty(len(doc_ids))
        self._local = threading.local()
        self._single_kernels: Remembered[tuple | None] = Remembered()

    @functools.cached_property
    def _index_arrays(self) -> tuple:
        """The kernels' view of the index, made on the first search and kept (rebuilding it
        would cost microseconds per query): the forward index's rows as search reads them
        (:meth:`~index.forward.ForwardIndex.search_arrays`: a built or format 4 index's own,
        memory-mapped when loaded so; an index read from format 3 gets a copy of its two arrays
        side by side, in anonymous memory), the blocks, the summaries. Two threads' first
        searches may both make that copy; one is kept."""
        postings = self.postings
        return (
            self.forward.search_arrays(),
            (postings.list_block_ptr, postings.block_ptr, postings.post_docs),
            self.summaries.kernel_arrays(),
        )

    # -- build ----------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        collection: SparseCollection,
        config: BuildConfig | None = None,
        progress: bool = False,
        search_defaults: SearchDefaults | None = None,
    ) -> SeismicIndex:
        """Index ``collection`` (see :class:`~index.config.BuildConfig` for the parameters);
        ``search_defaults`` are stored with it (:class:`~index.config.SearchDefaults`)."""
        if not isinstance(collection, SparseCollection):
            raise InputError(
                f"collection must be a SparseCollection, got {type(collection).__name__}"
            )
        config = config or BuildConfig()

        def forward() -> ForwardIndex:
            return ForwardIndex.from_collection(collection, config.value_dtype)

        ids, metadata = collection.ids, collection.metadata
        return cls._build(ids, metadata, forward, config, progress, search_defaults)

    @classmethod
    def build_from_file(
        cls,
        path: str | os.PathLike,
        config: BuildConfig | None = None,
        progress: bool = False,
        search_defaults: SearchDefaults | None = None,
    ) -> SeismicIndex:
        """Index the Parquet vector file ``path`` as :meth:`build` indexes its collection, the
        same index array for array, without ever holding the collection: its row groups are
        read one at a time (:func:`lsr.vector_io.iter_vectors`) straight into the forward
        index (float16 weights and u16 term ids: half the bytes of the collection's float32
        and int32), and pruning inverts only the postings it keeps (:mod:`index.pruning`)."""
        from lsr.vector_io import iter_vectors, read_metadata

        config = config or BuildConfig()
        metadata = read_metadata(path)
        ids: list[str] = []

        def forward() -> ForwardIndex:
            parts = []
            for part in tqdm(iter_vectors(path), desc="reading", unit="row group",
                             disable=not progress, leave=False):  # fmt: skip
                ids.extend(part.ids)
                parts.append(ForwardIndex.from_collection(part, config.value_dtype))
            if not parts:
                empty = SparseCollection.empty(metadata)
                return ForwardIndex.from_collection(empty, config.value_dtype)
            return ForwardIndex.concat(parts)

        return cls._build(ids, metadata, forward, config, progress, search_defaults)

    @classmethod
    def _build(
        cls,
        ids: Sequence[str],
        metadata: VectorMetadata,
        make_forward: Callable[[], ForwardIndex],
        config: BuildConfig,
        progress: bool,
        search_defaults: SearchDefaults | None,
    ) -> SeismicIndex:
        """The build's phases after the forward index is made by ``make_forward`` (which may
        fill ``ids`` as it reads)."""
        phases = [p for p in PHASES if config.knn or p != "knn graph"]
        timings: dict[str, float] = {}
        bar = tqdm(total=len(phases), desc="building", unit="phase", disable=not progress)

        @contextmanager
        def phase(name: str):
            bar.set_description(name)
            start = time.perf_counter()
            yield
            timings[name] = round(time.perf_counter() - start, 3)
            bar.update(1)

        with bar, launch_guard():
            with phase("forward index"):
                forward = make_forward()
            with phase("pruning"):
                list_offsets, list_docs = prune(
                    forward, config.pruning, config.n_postings, config.max_fraction
                )
            with phase("clustering"):
                postings = cluster(
                    forward, list_offsets, list_docs, config.centroid_fraction, config.doc_cut,
                    config.min_cluster_size, config.seed,
                )  # fmt: skip
                del list_offsets, list_docs
            with phase("summaries"):
                summaries = build_summaries(forward, postings, config.summary_energy)
            # The layout search reads and save writes, kept instead of the two arrays the phases
            # above read (freed here): the kNN graph's searches and the engine timing read it.
            forward = forward.to_side_by_side()
            knn = np.zeros((len(forward), 0), dtype=np.int32)
            index = cls(ids, metadata, config, forward, postings, summaries, knn, {})
            if config.knn:
                with phase("knn graph"):
                    index.knn = build_knn_graph(len(forward), config.knn, index._search_docs)
            index.search_defaults = search_defaults or SearchDefaults()
            check_knn(index.search_defaults.n_knn, index.knn.shape[1] > 0)
            with phase("engine timing"):
                index.timing = measure(index, index.search_defaults.params(10))
        index.stats = {
            "n_docs": len(forward),
            "nnz": forward.nnz,
            "postings": len(postings.post_docs),
            "blocks": postings.n_blocks,
            "summary_entries": summaries.n_entries,
            "seconds": timings,
            "bytes": index.nbytes(),
            "engines": index.timing.to_json(),
        }
        return index

    def _search_docs(self, start: int, stop: int, k: int, query_cut: int, heap_factor: float):
        """Documents ``start:stop`` searched as queries (the kNN graph's construction)."""
        queries = self.forward.rows_at(np.arange(start, stop))
        docs, _, _ = self._run(queries, SearchParams(k, query_cut, heap_factor))
        return docs

    # -- search ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.doc_ids)

    @property
    def vocab_size(self) -> int:
        return self.forward.vocab_size

    def search_batch(
        self,
        queries: SparseCollection,
        k: int = 10,
        query_cut: int | None = None,
        heap_factor: float | None = None,
        first_sorted: bool | None = None,
        n_knn: int | None = None,
        global_order: bool | None = None,
        exclude: np.ndarray | None = None,
        engine: str | None = None,
        shared: np.ndarray | None = None,
        slot: int = 0,
    ) -> SearchResults:
        """Approximate top-k of every query, in parallel over queries.

        ``scored`` of the result holds how many documents each query scored exactly. Documents
        in ``exclude`` (a bitset of positions, :mod:`index.bitset`) are never scored nor
        returned: the k best of the others come back (deleted or filtered-out documents).
        ``engine`` (``auto``, ``seismic``, ``exact``; :mod:`index.engine`) may answer with
        exact search instead, where it is faster; then ``scored`` is ``None``. ``shared``
        (:func:`index.shared_bound.new_shared`, a row per query): this index is searcher
        ``slot`` of several over disjoint documents and skips blocks against the best k-th
        score any of them holds (the shards of :class:`~index.sharded.ShardedIndex`).
        """
        params = self._params(k, query_cut, heap_factor, first_sorted, n_knn, engine, global_order)
        if self._engine(params, exclude) == "exact":
            return self._exact_searcher().search_batch(queries, k=params.k)
        queries = check_batch(queries, self.metadata)
        arrays = (queries.indptr, queries.indices, queries.values)
        if shared is not None:
            shared = check_shared(shared, slot, len(queries), params.k)
        docs, scores, scored = self._run(arrays, params, self._excluded(exclude), shared, slot)
        return SearchResults(queries.ids, docs, scores, self.doc_ids, scored=scored)

    def search(
        self,
        term_ids: np.ndarray,
        weights: np.ndarray,
        k: int = 10,
        query_cut: int | None = None,
        heap_factor: float | None = None,
        first_sorted: bool | None = None,
        n_knn: int | None = None,
        global_order: bool | None = None,
        exclude: np.ndarray | None = None,
        engine: str | None = None,
    ) -> tuple[list[str], np.ndarray]:
        """Approximate top-k of one query: document ids and float32 scores, best first
        (``exclude`` and ``engine`` as for :meth:`search_batch`)."""
        given = (k, query_cut, heap_factor, first_sorted, n_knn, engine, global_order)
        kernel = self._single_params(given) if exclude is None else None
        if kernel is None:
            params = self._params(*given)
            if self._engine(params, exclude) == "exact":
                return self._exact_searcher().search(term_ids, weights, k=params.k)
            kernel = kernel_params(params)
        terms, values = query_arrays(term_ids, weights)
        docs, scores = self.search_positions(terms, values, kernel, exclude=exclude)
        return row_hits(self.doc_ids, docs, scores)

    def search_positions(
        self,
        terms: np.ndarray,
        values: np.ndarray,
        kernel: tuple,
        shared: np.ndarray = NO_SEARCHERS,
        slot: int = 0,
        exclude: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k positions (``-1`` padding) and scores of one query (:func:`query_arrays`'
        ``terms`` / ``values``) at ``kernel`` (:func:`kernel_params`), in one compiled call over this
        thread's :class:`~index.search.Searcher`: the part of :meth:`search` a segmented index
        calls for each of its segments, as searcher ``slot`` of ``shared`` (one query's row of
        :func:`~index.shared_bound.new_shared`)."""
        searcher = getattr(self._local, "searcher", None) if exclude is None else None
        if searcher is None:
            searcher = self._searcher(self._excluded(exclude))
        problem, detail, docs, scores = _search_single(
            searcher, terms, values, *kernel, shared, slot
        )
        if problem:
            check_canonical(problem, detail, self.vocab_size)
        return docs, scores

    def _single_params(self, given: tuple) -> tuple | None:
        """The parameters of :meth:`search` without exclusions as its kernel takes them, or
        ``None`` where it answers with exact search (or a value given cannot be hashed),
        remembered per distinct ``given`` until :attr:`search_defaults` or :attr:`timing` is
        replaced (:mod:`index.remembered`)."""
        return self._single_kernels.get(
            (self.search_defaults, self.timing), given, self._single_kernel
        )

    def _single_kernel(self, given: tuple) -> tuple | None:
        params = self._params(*given)
        return None if self._engine(params, None) == "exact" else kernel_params(params)

    def _params(
        self, k, query_cut, heap_factor, first_sorted, n_knn, engine, global_order=None
    ) -> SearchParams:
        return self.search_defaults.params_for(
            self.knn.shape[1] > 0, k, query_cut=query_cut, heap_factor=heap_factor,
            first_sorted=first_sorted, global_order=global_order, n_knn=n_knn, engine=engine,
        )  # fmt: skip

    def engine_for(self, engine: str | None = None) -> str:
        """``seismic`` or ``exact``: the engine a search given ``engine`` runs on (``None``: the
        stored default; ``auto``: the faster one on this index, :mod:`index.engine`)."""
        return self._engine(self._params(1, None, None, None, None, engine), None)

    def _engine(self, params: SearchParams, exclude: np.ndarray | None) -> str:
        """``seismic`` or ``exact`` for this search; excluding documents is Seismic's alone."""
        if exclude is None:
            return resolve(params, self.timing)
        if params.engine == "exact":
            raise InputError("engine 'exact' cannot exclude documents; use engine seismic or auto")
        return "seismic"

    def _exact_searcher(self) -> ExactIndex:
        """Exact search over this index's stored weights, built on first use and kept: an
        index that answers with exact search does so on every query."""
        with self._exact_lock:
            if self._exact is None:
                self._exact = self.exact()
            return self._exact

    def _excluded(self, exclude: np.ndarray | None) -> np.ndarray:
        if exclude is None:
            return self._nothing_excluded
        exclude = np.asarray(exclude)
        if exclude.dtype != np.uint64 or exclude.shape != self._nothing_excluded.shape:
            raise InputError(
                f"exclude must be a uint64 bitset of {len(self._nothing_excluded)} words "
                f"(index.bitset over {len(self)} documents), got {exclude.dtype} {exclude.shape}"
            )
        return np.ascontiguousarray(exclude)

    def _run(
        self,
        queries: tuple[np.ndarray, ...],
        params: SearchParams,
        excluded: np.ndarray | None = None,
        shared: np.ndarray | None = None,
        slot: int = 0,
    ):
        if excluded is None:
            excluded = self._nothing_excluded
        indptr, terms, weights = queries
        n_queries = len(indptr) - 1
        if shared is None:
            shared, slot = unshared(n_queries, params.k), 0
        if n_queries == 0 or len(self) == 0:
            empty = np.full((n_queries, params.k), -1, dtype=np.int64)
            return empty, np.zeros(empty.shape, np.float32), np.zeros(n_queries, np.int64)
        arrays = (
            *self._index_arrays,
            self.knn,
            (
                np.ascontiguousarray(indptr, dtype=np.int64),
                np.ascontiguousarray(terms, np.int32),
                np.ascontiguousarray(weights, np.float32),
            ),
            params.k, params.query_cut, np.float32(params.heap_factor), params.first_sorted,
            params.global_order, params.n_knn,
        )  # fmt: skip
        if n_queries == 1 or numba.get_num_threads() == 1:
            return _search_serial(*arrays, self._scratch(excluded), shared, slot)
        n_chunks = min(n_queries, 4 * numba.get_num_threads())
        with launch_guard():
            return _search_parallel(
                *arrays, self.vocab_size, self._max_blocks, n_chunks, excluded, shared, slot
            )

    def _searcher(self, excluded: np.ndarray) -> Searcher:
        """The :class:`~index.search.Searcher` of :meth:`search`: this thread's, made on its
        first search and kept in ``self._local.searcher``, or one of its own for a search that
        excludes documents. Like :attr:`_index_arrays` it holds the arrays of that moment: the
        build sets :attr:`knn` before any single search (its kNN phase searches in batches)."""
        searcher = new_searcher(
            *self._index_arrays, self.knn, self.vocab_size, self._scratch(excluded)
        )
        if excluded is self._nothing_excluded:
            self._local.searcher = searcher
        return searcher

    def _scratch(self, excluded: np.ndarray) -> tuple[np.ndarray, ...]:
        """This thread's scratch arrays for serial search, made once: allocating and clearing
        collection-sized arrays per query would cost more than a query itself on large indexes.
        A search that excludes documents seeds its own (a copy of ``n_docs / 8`` bytes)."""
        if excluded is not self._nothing_excluded:
            return new_scratch(self.vocab_size, len(self), self._max_blocks, excluded)
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = new_scratch(
                self.vocab_size, len(self), self._max_blocks, excluded
            )
        return scratch

    def document(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """Term ids and stored weights (as float32) of the document at ``position``."""
        return self.forward.document(position)

    def exact(self) -> ExactIndex:
        """Exact search over this index's forward index (same stored weights, same scores)."""
        return ExactIndex(self.forward.to_collection(list(self.doc_ids), self.metadata))

    # -- sizes and persistence ------------------------------------------------------------------

    def nbytes(self) -> dict[str, int]:
        """Bytes of each part: forward index, posting lists, summaries, kNN graph, total."""
        sizes = {
            "forward": self.forward.nbytes,
            "postings": self.postings.nbytes,
            "summaries": self.summaries.nbytes,
            "knn": self.knn.nbytes,
        }
        return {**sizes, "total": sum(sizes.values())}

    def _arrays(self, forward: Forward) -> dict[str, np.ndarray]:
        id_bytes, id_offsets = persist.encode_strings(list(self.doc_ids))
        arrays = {"doc_id_bytes": id_bytes, "doc_id_offsets": id_offsets}
        arrays |= {f"forward.{n}": a for n, a in forward.stored().items()}
        arrays |= {f.name: getattr(self.postings, f.name) for f in fields(self.postings)}
        arrays |= self.summaries.stored()
        arrays["knn"] = self.knn
        return arrays

    def save(self, directory: str | os.PathLike) -> None:
        """Write the index to ``directory`` atomically (see :mod:`index.persist`), in the current
        format: an index read from format 3 is written with its rows side by side (a copy made
        here), so that loading and saving it upgrades it."""
        forward = self.forward.to_side_by_side()
        manifest = {
            "n_docs": len(self),
            "vocab_size": self.vocab_size,
            "value_dtype": forward.value_dtype,
            "forward_layout": forward.layout,
            "config": self.config.to_json(),
            "stats": self.stats,
            "vector_metadata": self.metadata.to_json(),
            "search_defaults": self.search_defaults.to_json(),
            "vocabulary_fingerprint": self.metadata.vocabulary_fingerprint,
            "summary_mask_blocks": self.summaries.mask_blocks,
        }
        persist.save_arrays(directory, self._arrays(forward), manifest)

    @classmethod
    def load(
        cls, directory: str | os.PathLike, mmap: bool = True, verify: bool = False
    ) -> SeismicIndex:
        """Open a saved index; arrays are memory-mapped unless ``mmap=False``.

        ``verify=True`` also checks every file's checksum (reads the whole index).
        """
        manifest, arrays = persist.load_arrays(directory, mmap=mmap, verify=verify)
        source = os.path.join(str(directory), persist.MANIFEST)
        try:
            config = BuildConfig.from_json(manifest["config"])
            # Indexes saved before search defaults were stored get the current ones.
            defaults = SearchDefaults.from_json(manifest.get("search_defaults", {}))
            n_docs = int(manifest["n_docs"])
            metadata = VectorMetadata.from_json(manifest["vector_metadata"], source)
            # Format 3 has no forward_layout: its two arrays (index.forward's docstring).
            forward = load_forward(
                arrays, manifest.get("forward_layout", TWO_ARRAYS), manifest["value_dtype"],
                int(manifest["vocab_size"]),
            )  # fmt: skip
            postings = PostingLists(*(arrays[f.name] for f in fields(PostingLists)))
            summaries = Summaries.from_arrays(arrays, summary_mask_blocks(manifest, source))
            doc_ids = persist.StringList(arrays["doc_id_bytes"], arrays["doc_id_offsets"])
            knn = arrays["knn"]
            stats = manifest["stats"]
        except KeyError as exc:
            raise IndexFormatError(f"{source}: missing entry {exc.args[0]!r}") from None
        except (InputError, TypeError, ValueError) as exc:
            raise IndexFormatError(f"{source}: {exc}") from None
        try:
            check_index(
                directory, n_docs, arrays["doc_id_bytes"], arrays["doc_id_offsets"], forward,
                postings, summaries, knn,
            )  # fmt: skip
        except IndexFormatError as exc:
            # Two arrays disagree: the checksums tell which one was damaged.
            damaged = None if verify else persist.find_damaged(directory, manifest)
            if damaged is None:
                raise
            message = f"{damaged}: checksum mismatch; the file is damaged ({exc})"
            raise IndexFormatError(message) from None
        try:
            return cls(
                doc_ids, metadata, config, forward, postings, summaries, knn, stats, defaults
            )
        except InputError as exc:
            raise IndexFormatError(f"{source}: search_defaults: {exc}") from None
