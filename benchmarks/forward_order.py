"""What placing a block's documents close together in the forward index would save (issue 15).

Seismic's document scoring gathers the rows of the documents a query scores from a forward
index far larger than the caches (200k synthetic: 197 MB); a block's documents are similar
(clustered) but lie anywhere. Reordering the documents so that those of a block sit together
could turn scattered row loads into runs: fewer DRAM page openings, fewer TLB misses, and the
hardware prefetcher following along. This controlled experiment measures the prize before any
index change: the *same* documents a search scores (:func:`benchmarks.index_profile`'s
``_scored_documents``, the same order, the same prefetches) are scored against copies of the
forward index that differ only in the order of their rows:

- ``input``: rows in input order (an anonymous-memory copy in 4 KiB pages, as the reordered ones
  are);
- ``input, as loaded``: the index's two saved arrays, mapped from its files (what search read
  after ``SeismicIndex.load(mmap=True)`` before it laid rows side by side: 4 KiB page-cache
  pages);
- ``input, numpy copy``: a plain ``np.array`` copy, which numpy advises ``MADV_HUGEPAGE`` itself
  (arrays of 4 MiB or more; what ``mmap=False`` gives);
- ``primary block``: each document placed by its primary block, the block of the posting list
  of its heaviest term among the lists that keep it, blocks in list order (documents no list
  keeps last), input order within a block;
- ``heaviest term``: documents grouped by their heaviest term (then input order);
- ``packed``: each query's scored documents copied one after the other, in the order scored,
  so that every gather is sequential (a copy per query: an upper bound on what any order of the
  rows could give, not an index);
- ``input, rows together``: input order, but each document's term ids and weights side by side
  in one array (its ids, then its weights: :func:`index.forward.side_by_side`, what search now
  reads) instead of in two arrays: one region per document to load instead of two;
- ``input, prefetch N ahead``: input order, each document prefetched ``N`` documents before it
  is scored (a sliding window) instead of eight at a time: how much of the gap to ``packed``
  prefetching earlier closes without moving any row;
- ``input``, ``primary block`` and ``input, rows together`` again in anonymous memory advised
  ``MADV_HUGEPAGE`` (2 MiB pages): how much of the cost is TLB misses;
- ``input again``: the first run once more, last in each round: the spread of the timing itself.

Every run scores the first ``--limit`` queries' documents (``packed`` copies them all). Also
reported per order: the share of consecutive scored documents of a query whose rows are at
most 8 / 64 / 512 rows apart (how contiguous the gathers became).

Run: ``python -m benchmarks.forward_order --ours DIR --queries PARQUET --query-cut 5
--heap-factor 0.9 --clock cpu --out reports/NAME``.
"""

from __future__ import annotations

import mmap
import time
from pathlib import Path

import click
import numpy as np
from lsr.index import SeismicIndex
from lsr.index.forward import dot_dense, row_prefetch, side_by_side
from lsr.index.search import new_scratch
from lsr.index.shared_bound import unshared
from lsr.index.timing import fastest, one_thread
from numba import njit

from benchmarks import provenance
from benchmarks.index_profile import (
    CLOCKS,
    OURS_OPTION,
    QUERIES_OPTION,
    _documents_only,
    _scored_documents,
)
from lsr.vector_io import read_vectors


# Compiled in each run, not cached: it inlines index/ code (see benchmarks.index_profile).
@njit(nogil=True)
def _documents_ahead(forward, queries, ptr, docs, q_dense, ahead):
    """:func:`_documents_only` prefetching each document ``ahead`` documents before scoring it
    (with search's own row prefetch, :func:`lsr.index.forward.row_prefetch`)."""
    indptr, terms, values = forward
    q_indptr, q_terms, q_weights = queries
    check = np.float32(0.0)
    for q in range(len(q_indptr) - 1):
        for j in range(q_indptr[q], q_indptr[q + 1]):
            q_dense[q_terms[j]] = q_weights[j]
        for i in range(ptr[q], min(ptr[q] + ahead, ptr[q + 1])):
            row_prefetch(forward, docs[i])
        for i in range(ptr[q], ptr[q + 1]):
            if i + ahead < ptr[q + 1]:
                row_prefetch(forward, docs[i + ahead])
            check += dot_dense(terms, values, indptr[docs[i]], indptr[docs[i] + 1], q_dense)
        for j in range(q_indptr[q], q_indptr[q + 1]):
            q_dense[q_terms[j]] = 0.0
    return check


def primary_block_order(index: SeismicIndex) -> np.ndarray:
    """Documents (input positions) sorted by their primary block (see the module docstring)."""
    forward, postings = index.forward, index.postings
    n_docs, vocab = len(forward), forward.vocab_size
    block_sizes = np.diff(postings.block_ptr.astype(np.int64))
    block_of_posting = np.repeat(np.arange(len(block_sizes)), block_sizes)
    term_of_block = np.repeat(np.arange(vocab), np.diff(postings.list_block_ptr.astype(np.int64)))
    docs = postings.post_docs.astype(np.int64)
    keys = docs * vocab + term_of_block[block_of_posting]
    rows = np.repeat(np.arange(n_docs, dtype=np.int64), np.diff(forward.indptr))
    entry_keys = rows * vocab + forward.terms.astype(np.int64)
    del rows
    weights = forward.float_values()[np.searchsorted(entry_keys, keys)]
    del entry_keys, keys
    by_doc = np.lexsort((-weights, docs))  # each document's heaviest kept term first
    first = np.ones(len(by_doc), bool)
    first[1:] = docs[by_doc][1:] != docs[by_doc][:-1]
    primary = np.full(n_docs, len(block_sizes), np.int64)  # kept by no list: last
    primary[docs[by_doc[first]]] = block_of_posting[by_doc[first]]
    return np.argsort(primary, kind="stable")


def heaviest_term_order(index: SeismicIndex) -> np.ndarray:
    """Documents sorted by their heaviest term (stable: input order within a term)."""
    indptr, weights = index.forward.indptr, index.forward.float_values()
    full = np.flatnonzero(np.diff(indptr) > 0)
    largest = np.maximum.reduceat(weights, indptr[full])
    at_max = np.flatnonzero(weights == np.repeat(largest, np.diff(indptr)[full]))
    rows, first = np.unique(np.searchsorted(indptr, at_max, side="right") - 1, return_index=True)
    key = np.full(len(indptr) - 1, index.vocab_size, np.int64)
    key[rows] = np.asarray(index.forward.terms)[at_max[first]]
    return np.argsort(key, kind="stable")


def _anonymous(array: np.ndarray, huge: bool) -> np.ndarray:
    """A copy of ``array`` in its own anonymous mapping, advised huge pages if ``huge``."""
    buffer = mmap.mmap(-1, max(array.nbytes, 1))
    if huge:
        buffer.madvise(mmap.MADV_HUGEPAGE)
    copy = np.frombuffer(buffer, dtype=array.dtype, count=len(array))
    copy[:] = array
    return copy


def permuted(index: SeismicIndex, order: np.ndarray, huge: bool) -> tuple:
    """The forward arrays with row ``i`` holding document ``order[i]`` (``order`` may repeat
    documents: ``packed``)."""
    forward = index.forward
    lengths = np.diff(forward.indptr)[order]
    indptr = np.zeros(len(order) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    starts = np.repeat(forward.indptr[:-1][order] - indptr[:-1], lengths)
    source = np.arange(indptr[-1]) + starts
    return (
        _anonymous(indptr, huge),
        _anonymous(np.asarray(forward.terms)[source], huge),
        _anonymous(np.asarray(forward.values)[source], huge),
    )


#: Row distances of the contiguity shares.
NEAR = (8, 64, 512)


def near_shares(ptr: np.ndarray, positions: np.ndarray) -> list[float]:
    """Share of a query's consecutive scored documents at most ``NEAR`` rows apart."""
    gaps = np.abs(np.diff(positions))
    within = np.ones(len(gaps), bool)
    within[ptr[1:-1] - 1] = False  # no pair across two queries
    return [float(np.mean((gaps <= near)[within])) for near in NEAR]


def huge_kib() -> int:
    """AnonHugePages of this process, KiB."""
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])
    return 0


def experiment(
    ours_dir: Path, queries_path: Path, query_cut: int, heap_factor: float, rounds: int,
    clock: str, limit: int,
) -> dict:  # fmt: skip
    index = SeismicIndex.load(ours_dir, mmap=True)
    # The orders are made over, and "input, as loaded" reads, the two arrays: a format 3
    # index's own file-mapped ones, a copy of a format 4 index's side-by-side rows.
    index.forward = index.forward.to_two_arrays()
    queries = read_vectors(queries_path)
    n = min(limit, len(queries))
    q_indptr = queries.indptr[: n + 1]
    arrays = (
        q_indptr,
        queries.indices[: q_indptr[-1]].astype(np.int32),
        queries.values[: q_indptr[-1]].astype(np.float32),
    )
    forward, blocks, summaries = index._index_arrays
    scratch = new_scratch(index.vocab_size, len(index), index._max_blocks, index._nothing_excluded)
    ptr, docs = _scored_documents(
        forward, blocks, summaries, index.knn, arrays, query_cut, heap_factor, False, scratch,
        unshared(1, 10)[0],
    )  # fmt: skip
    seconds = {}
    orders = {"input": np.arange(len(index))}
    for name, make in (
        ("primary block", primary_block_order),
        ("heaviest term", heaviest_term_order),
    ):
        started = time.perf_counter()
        orders[name] = make(index)
        seconds[name] = time.perf_counter() - started
    q_dense = np.zeros(index.vocab_size, np.float32)
    runs, shares = {}, {}
    for name, order in orders.items():
        position = np.empty(len(order), np.int64)
        position[order] = np.arange(len(order))
        moved = position[docs]
        shares[name] = near_shares(ptr, moved)
        for huge in (False, True) if name != "heaviest term" else (False,):
            rows = permuted(index, order, huge)
            label = name + (" huge pages" if huge else "")
            runs[label] = lambda f=rows, m=moved: _documents_only(f, arrays, ptr, m, q_dense)
    loaded = (index.forward.indptr, index.forward.terms, index.forward.values)
    runs["input, as loaded"] = lambda: _documents_only(loaded, arrays, ptr, docs, q_dense)
    numpy_copy = tuple(np.array(a) for a in loaded)
    runs["input, numpy copy"] = lambda: _documents_only(numpy_copy, arrays, ptr, docs, q_dense)
    shares["input, as loaded"] = shares["input, numpy copy"] = shares["input"]
    copy = permuted(index, orders["input"], False)
    for ahead in (4, 8, 16, 32):
        runs[f"input, prefetch {ahead} ahead"] = lambda a=ahead, c=copy: _documents_ahead(
            c, arrays, ptr, docs, q_dense, a
        )
        shares[f"input, prefetch {ahead} ahead"] = shares["input"]
    rows = side_by_side(*loaded)
    for huge in (False, True):
        laid = (index.forward.indptr, _anonymous(rows, huge))
        label = "input, rows together" + (" huge pages" if huge else "")
        runs[label] = lambda f=laid: _documents_only(f, arrays, ptr, docs, q_dense)
    del rows
    shares["input, rows together"] = shares["input"]
    packed = permuted(index, docs, False)
    runs["packed"] = lambda: _documents_only(packed, arrays, ptr, np.arange(len(docs)), q_dense)
    shares["packed"] = near_shares(ptr, np.arange(len(docs)))
    runs["input again"], shares["input again"] = runs["input"], shares["input"]
    sums = {name: float(run()) for name, run in runs.items()}
    with one_thread():
        for run in runs.values():  # compile, page in
            run()
        timed = fastest(list(runs.values()), rounds, CLOCKS[clock])
    entries = float(np.diff(index.forward.indptr)[docs].sum()) / n
    us = {name: s / n * 1e6 for name, s in zip(runs, timed, strict=True)}
    return {
        "query_cut": query_cut,
        "heap_factor": heap_factor,
        "clock": clock,
        "queries": n,
        "documents_scored_per_query": len(docs) / n,
        "document_entries_per_query": entries,
        "document_scoring_us_per_query": us,
        "ns_per_entry": {name: v * 1e3 / entries for name, v in us.items()},
        "ratio_to_input": {name: v / us["input"] for name, v in us.items()},
        "near_rows": list(NEAR),
        "share_within_near_rows": shares,
        "score_sums": sums,
        "order_seconds": seconds,
        "anon_huge_pages_kib": huge_kib(),
    }


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@OURS_OPTION
@QUERIES_OPTION
@click.option("--query-cut", default=5, show_default=True)
@click.option("--heap-factor", default=0.9, show_default=True)
@click.option("--rounds", default=5, show_default=True, help="Interleaved rounds; fastest counts.")
@click.option(
    "--clock",
    type=click.Choice(sorted(CLOCKS)),
    default="cpu",
    show_default=True,
    help="wall: elapsed time; cpu: this process's CPU time.",
)
@click.option("--limit", default=150, show_default=True,
              help="Queries scored (packed copies every scored row of each).")  # fmt: skip
@click.option("--out", required=True, help="Report path without suffix (OUT.json, OUT.md).")
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(
    ours_dir, queries_path, query_cut, heap_factor, rounds, clock, limit, out, allow_dirty
) -> None:  # fmt: skip
    """Time the scoring of the same scored documents over forward indexes in several row orders."""
    origin = provenance.record(provenance.command_line("benchmarks.forward_order"), allow_dirty)
    result = experiment(ours_dir, queries_path, query_cut, heap_factor, rounds, clock, limit)
    result["provenance"] = origin
    us, ratio = result["document_scoring_us_per_query"], result["ratio_to_input"]
    share = result["share_within_near_rows"]
    text = (
        "# Document scoring over forward indexes in several row orders\n\n"
        + provenance.markdown(origin)
        + f"\n{result['queries']} queries, query_cut {query_cut}, heap_factor {heap_factor}: "
        f"the same {result['documents_scored_per_query']:,.0f} scored documents "
        f"({result['document_entries_per_query']:,.0f} entries) per query, one thread, fastest "
        f"of {rounds} interleaved rounds by the {clock} clock.\n\n"
        "| forward index rows | us per query | ns an entry | vs input | within 8 / 64 / 512 rows "
        "|\n|---|---|---|---|---|\n"
        + "\n".join(
            f"| {name} | {value:,.0f} | {result['ns_per_entry'][name]:.3f} | {ratio[name]:.2f}x "
            f"| {' / '.join(f'{v:.3f}' for v in share[name.removesuffix(' huge pages')])} |"
            for name, value in us.items()
        )
        + f"\n\nAnonHugePages of the process: {result['anon_huge_pages_kib']:,} KiB; orders "
        "computed in "
        + ", ".join(f"{v:.1f} s ({k})" for k, v in result["order_seconds"].items())
        + ".\n"
    )
    click.echo(provenance.save_report(out, result, text))


if __name__ == "__main__":
    provenance.run_main(main)
