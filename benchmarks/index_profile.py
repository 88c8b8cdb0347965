"""Where a query's time goes in our Seismic search, beside pyseismic-lsr's on the same queries.

Issue 15 asks for hardware counters (``perf stat -e cycles,instructions,cache-misses,
branch-misses``) per query of both systems; where the machine exposes none (a VM whose ``perf
stat`` reports them ``<not supported>``, as ours does) this measures the phases of our search by
running each alone over the same queries, on one thread, fastest of interleaved rounds
(:func:`index.timing.fastest`):

- ``summaries``: :func:`index.summary.score_summaries` over each query's ``query_cut`` lists,
  exactly the calls the search makes;
- ``documents``: the exact dot products (:func:`index.forward.dot_dense`) of the documents the
  search scored, in the order it scored them, prefetching each block's documents first as the
  search does;
- ``rest``: the search minus both (the query's dense copy and sort, the skip test per block,
  the visited flags, the heap);
- ``empty query``: a one-term query whose term has no posting list, through both systems'
  single-query search: each one's fixed cost per call (validation, dispatch, result
  conversion), the floor under every query's latency.

The peer's total comes from the same queries (its ``search`` per query, its ``batch_search``);
the documents it scores are not exposed, so only our phases are split.

Its kernels inline the index's (``search_one``, ``row_dot``, ``score_summaries``) and are compiled
in each run, not cached: Numba keys a cached kernel on its own file only, so after an edit of
``index/`` a cached one here went on timing the old code (``reports/index-zen4-where-s10.md``).

Run: ``python -m benchmarks.index_profile --ours DIR --peer FILE --queries PARQUET
--query-cut 10 --heap-factor 0.9 --out reports/NAME`` on two indexes built by
``benchmarks.index`` (its ``.cache/bench/indexes/<collection>/``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np
from lsr.index import SeismicIndex
from lsr.index.forward import row_dot, row_prefetch
from lsr.index.search import new_scratch, search_one
from lsr.index.shared_bound import unshared
from lsr.index.summary import score_summaries
from lsr.index.timing import fastest, one_thread
from numba import njit

from benchmarks import provenance
from benchmarks.peer_seismic import PeerQueries, PeerSeismic, prepare_queries
from lsr.vector_io import read_vectors
from lsr.vectors import SparseCollection, VectorMetadata


@njit(nogil=True)
def _summaries_only(summaries, list_block_ptr, queries, query_cut, block_scores):
    """The summary scoring of every query (what :func:`search_one` calls), nothing else."""
    q_indptr, q_terms, q_weights = queries
    check = 0.0
    for q in range(len(q_indptr) - 1):
        terms, weights = (
            q_terms[q_indptr[q] : q_indptr[q + 1]],
            q_weights[q_indptr[q] : q_indptr[q + 1]],
        )
        for j in np.argsort(-weights, kind="mergesort")[:query_cut]:
            b0, b1 = list_block_ptr[terms[j]], list_block_ptr[terms[j] + 1]
            if b1 > b0:
                score_summaries(summaries, terms[j], b0, b1, terms, weights, block_scores)
                check += block_scores[0]
    return check


@njit(nogil=True)
def _scored_documents(
    forward, blocks, summaries, knn, queries, query_cut, heap_factor, global_order, scratch, alone
):  # fmt: skip
    """The documents each query's search scores, in order (offsets, positions); ``alone`` is
    a query's row of :func:`index.shared_bound.unshared` (no other searcher)."""
    q_indptr, q_terms, q_weights = queries
    ptr = np.zeros(len(q_indptr), np.int64)
    parts = []
    out_docs, out_scores = np.empty(10, np.int64), np.empty(10, np.float32)
    for q in range(len(q_indptr) - 1):
        lo, hi = q_indptr[q], q_indptr[q + 1]
        n = search_one(
            forward, blocks, summaries, knn, q_terms[lo:hi], q_weights[lo:hi], 10, query_cut,
            heap_factor, False, global_order, 0, scratch, out_docs, out_scores, alone, 0,
        )  # fmt: skip
        parts.append(scratch[2][:n].copy())
        ptr[q + 1] = ptr[q] + n
    docs = np.empty(ptr[-1], np.int64)
    for q in range(len(parts)):
        docs[ptr[q] : ptr[q + 1]] = parts[q]
    return ptr, docs


@njit(nogil=True)
def _documents_only(forward, queries, ptr, docs, q_dense):
    """Score each query's scored documents (prefetched eight at a time), nothing else;
    ``forward`` in either layout of :func:`index.forward.row_dot`."""
    q_indptr, q_terms, q_weights = queries
    check = np.float32(0.0)
    for q in range(len(q_indptr) - 1):
        for j in range(q_indptr[q], q_indptr[q + 1]):
            q_dense[q_terms[j]] = q_weights[j]
        for start in range(ptr[q], ptr[q + 1], 8):
            stop = min(start + 8, ptr[q + 1])
            for i in range(start, stop):
                row_prefetch(forward, docs[i])
            for i in range(start, stop):
                check += row_dot(forward, docs[i], q_dense)
        for j in range(q_indptr[q], q_indptr[q + 1]):
            q_dense[q_terms[j]] = 0.0
    return check


def _empty_query(
    list_block_ptr: np.ndarray, n: int, metadata: VectorMetadata
) -> tuple[np.ndarray, PeerQueries]:
    """A one-term query (ours, and ``n`` copies in the peer's layout) whose term has no posting
    list in our index, nor in the peer's built from the same vectors."""
    empty = np.flatnonzero(np.diff(list_block_ptr) == 0)
    if len(empty) == 0:
        raise click.ClickException("every term has a posting list: no empty query to time")
    term = empty[:1].astype(np.int32)
    weight = np.ones(1, np.float32)
    collection = SparseCollection.from_rows(
        [f"empty{i}" for i in range(n)], [(term, weight)] * n, metadata
    )
    return term, prepare_queries(collection)


def _accuracy(found: list[list[str]], truth: list[set[str]]) -> float:
    """accuracy@10: the share of the exact top-10 found, averaged over queries."""
    return float(
        np.mean([len(set(f[:10]) & t) / len(t) for f, t in zip(found, truth, strict=True)])
    )


#: ``--clock`` choices: wall time, or the CPU time of this process (all its threads).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def profile(
    ours_dir: Path, peer_file: Path, queries_path: Path, query_cut: int, heap_factor: float,
    rounds: int, truth: list[set[str]] | None = None, clock: str = "wall",
    global_order: bool = False,
) -> dict:  # fmt: skip
    """Per-query microseconds of each phase of ours and of the peer's search (see the module
    docstring), timed by ``clock`` (:data:`CLOCKS`); our search in ``global_order`` or not
    (the peer's in its default list order either way)."""
    index = SeismicIndex.load(ours_dir, mmap=True)
    queries = read_vectors(queries_path)
    arrays = (queries.indptr, queries.indices.astype(np.int32), queries.values.astype(np.float32))
    forward, blocks, summaries = index._index_arrays
    knn = index.knn
    scratch = new_scratch(index.vocab_size, len(index), index._max_blocks, index._nothing_excluded)
    ptr, docs = _scored_documents(
        forward, blocks, summaries, knn, arrays, query_cut, heap_factor, global_order, scratch,
        unshared(1, 10)[0],
    )  # fmt: skip
    block_scores = np.empty(max(index._max_blocks, 1), np.float32)
    q_dense = np.zeros(index.vocab_size, np.float32)
    peer = PeerSeismic.load(peer_file)
    peer_queries = prepare_queries(queries)
    n = len(queries)
    rows = [queries.row(i) for i in range(n)]
    empty_term, empty_peer = _empty_query(blocks[0], n, queries.metadata)

    def ours_single():
        for terms, weights in rows:
            index.search(
                terms, weights, 10, query_cut, heap_factor, False, global_order=global_order
            )

    def peer_single():
        for i in range(n):
            peer.search(peer_queries, i, 10, query_cut, heap_factor, False)

    def ours_empty():
        for _ in range(n):
            index.search(empty_term, np.ones(1, np.float32), 10, query_cut, heap_factor, False)

    def peer_empty():
        for i in range(n):
            peer.search(empty_peer, i, 10, query_cut, heap_factor, False)

    runs = {
        "ours single": ours_single,
        "ours batch": lambda: index.search_batch(
            queries, 10, query_cut, heap_factor, False, global_order=global_order
        ),
        "ours summaries": lambda: _summaries_only(
            summaries, blocks[0], arrays, query_cut, block_scores
        ),
        "ours documents": lambda: _documents_only(forward, arrays, ptr, docs, q_dense),
        "peer single": peer_single,
        "peer batch": lambda: peer.batch_search(peer_queries, 10, query_cut, heap_factor, False),
        "ours empty query": ours_empty,
        "peer empty query": peer_empty,
    }
    with one_thread():
        for run in runs.values():  # compile, page in
            run()
        seconds = fastest(list(runs.values()), rounds, CLOCKS[clock])
    us = {name: s / n * 1e6 for name, s in zip(runs, seconds, strict=True)}
    us["ours rest (batch - summaries - documents)"] = (
        us["ours batch"] - us["ours summaries"] - us["ours documents"]
    )
    nnz = np.diff(forward[0])[docs].sum()
    accuracy = {}
    if truth is not None:
        ours_docs = index.search_batch(
            queries, 10, query_cut, heap_factor, False, global_order=global_order
        ).docs
        ours_ids = [[index.doc_ids[d] for d in row if d >= 0] for row in ours_docs]
        peer_ids = peer.batch_search(peer_queries, 10, query_cut, heap_factor, False)
        accuracy = {"ours": _accuracy(ours_ids, truth), "peer": _accuracy(peer_ids, truth)}
    return {
        "accuracy_at_10": accuracy,
        "clock": clock,
        "query_cut": query_cut,
        "heap_factor": heap_factor,
        "global_order": global_order,
        "queries": n,
        "microseconds_per_query": us,
        "documents_scored_per_query": len(docs) / n,
        "document_entries_per_query": float(nnz) / n,
        "ns_per_document_entry": us["ours documents"] * 1e3 / (float(nnz) / n),
    }


#: The saved indexes and queries every benchmark over saved indexes reads (index_profile,
#: block_order, forward_order): one definition of each option.
OURS_OPTION = click.option(
    "--ours", "ours_dir", type=click.Path(exists=True, path_type=Path), required=True,
    help="Our saved index directory.",
)  # fmt: skip
PEER_OPTION = click.option(
    "--peer", "peer_file", type=click.Path(exists=True, path_type=Path), required=True,
    help="pyseismic-lsr's saved .index.seismic file (same documents).",
)  # fmt: skip
QUERIES_OPTION = click.option(
    "--queries", "queries_path", type=click.Path(exists=True, path_type=Path), required=True,
    help="Query vectors (Parquet).",
)  # fmt: skip


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@OURS_OPTION
@PEER_OPTION
@QUERIES_OPTION
@click.option("--query-cut", default=10, show_default=True)
@click.option("--heap-factor", default=0.9, show_default=True)
@click.option("--rounds", default=3, show_default=True, help="Interleaved rounds; fastest counts.")
@click.option("--clock", type=click.Choice(sorted(CLOCKS)), default="wall", show_default=True,
              help="wall: elapsed time; cpu: this process's CPU time (all threads), which other "
              "jobs on a shared machine do not inflate (they still share its caches).")  # fmt: skip
@click.option("--truth", "truth_path", type=click.Path(exists=True, path_type=Path),
              help="Exact top-10 ids per query (JSON, benchmarks.index's truth file): adds "
              "accuracy@10 of both systems.")  # fmt: skip
@click.option("--global-order/--no-global-order", default=False, show_default=True,
              help="Our search visits all its lists' blocks best first (index.block_order).")  # fmt: skip
@click.option("--out", required=True, help="Report path without suffix (OUT.json, OUT.md).")
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(
    ours_dir, peer_file, queries_path, query_cut, heap_factor, rounds, clock, truth_path,
    global_order, out, allow_dirty,
) -> None:  # fmt: skip
    """Time the phases of our search and the peer's total on the same queries, one thread."""
    origin = provenance.record(provenance.command_line("benchmarks.index_profile"), allow_dirty)
    started = time.perf_counter()
    truth = None
    if truth_path is not None:
        truth = [set(row) for row in json.loads(truth_path.read_text())]
    result = profile(
        ours_dir,
        peer_file,
        queries_path,
        query_cut,
        heap_factor,
        rounds,
        truth,
        clock,
        global_order,
    )
    result["provenance"] = origin
    result["seconds"] = time.perf_counter() - started
    us = result["microseconds_per_query"]
    text = (
        "# Where a query's time goes: our Seismic search by phase, pyseismic-lsr's total\n\n"
        + provenance.markdown(origin)
        + f"\n{result['queries']} queries, query_cut {query_cut}, heap_factor {heap_factor}, "
        f"our global_order {global_order}, "
        f"one thread, fastest of {rounds} interleaved rounds by the {clock} clock; "
        "microseconds per query:\n\n"
        "| run | us |\n|---|---|\n"
        + "\n".join(f"| {name} | {value:,.0f} |" for name, value in us.items())
        + f"\n\nOur search scored {result['documents_scored_per_query']:,.0f} documents "
        f"({result['document_entries_per_query']:,.0f} forward-index entries) per query: "
        f"{result['ns_per_document_entry']:.2f} ns an entry. accuracy@10: "
        + (", ".join(f"{k} {v:.3f}" for k, v in result["accuracy_at_10"].items()) or "not measured")
        + ".\n"
    )
    click.echo(provenance.save_report(out, result, text))


if __name__ == "__main__":
    provenance.run_main(main)
