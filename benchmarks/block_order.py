"""Each system at its fastest setting reaching an accuracy, by block order (issue 15).

Our search visits a query's blocks in one of three orders (``lists``: list after list;
``first``: the first list's blocks by summary score, the reference's ``sorted``; ``global``: all
the lists' blocks by summary score, ending at the first block skipped, :mod:`index.block_order`);
pyseismic-lsr in two (``sorted`` off or on). An order changes which ``query_cut x heap_factor``
reaches an accuracy, so comparing orders at one setting says little: here every order of both
systems runs over the same grid, on the same saved indexes and queries, one thread, each
setting's single-query and batch time the fastest of interleaved rounds
(:func:`index.timing.fastest`, CPU clock by default), and the report gives for each target
accuracy@10 each system's fastest setting reaching it, the ratio ours / peer, and the documents
our search scored per query there (what the global order is meant to cut).

Run on two indexes ``benchmarks.index`` saved: ``python -m benchmarks.block_order --ours
DIR/lsr --peer DIR/pyseismic-lsr.index.seismic --queries Q --truth T --query-cut 5,10,20
--heap-factor 0.7,0.9,1.0 --out reports/NAME``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
from lsr.index import SeismicIndex
from lsr.index.timing import fastest, one_thread

from benchmarks import provenance
from benchmarks.index import result_ids
from benchmarks.index_profile import CLOCKS, OURS_OPTION, PEER_OPTION, QUERIES_OPTION
from benchmarks.peer_seismic import PeerSeismic, prepare_queries
from lsr.vector_io import read_vectors

K = 10

#: Our orders as ``(first_sorted, global_order)``, the peer's as its ``sorted``.
OURS = {"lists": (False, False), "first": (True, False), "global": (False, True)}
PEER = {"lists": False, "first": True}


@dataclass
class Setting:
    """One system, order and ``(query_cut, heap_factor)``: how to run it, what it measured."""

    system: str
    order: str
    query_cut: int
    heap_factor: float
    accuracy: float = 0.0
    scored: float = float("nan")
    single_us: float = 0.0
    batch_us: float = 0.0


def _accuracy(found: list[list[str]], truth: list[set[str]]) -> float:
    return float(np.mean([len(set(f[:K]) & t) / len(t) for f, t in zip(found, truth, strict=True)]))


class Systems:
    """Both saved indexes and the queries in each one's layout."""

    def __init__(
        self, ours_dir: Path, peer_file: Path, queries_path: Path, n_queries: int, mmap: bool
    ) -> None:
        queries = read_vectors(queries_path)
        self.queries = queries.slice(0, min(n_queries, len(queries)))
        self.rows = [self.queries.row(i) for i in range(len(self.queries))]
        self.ours = SeismicIndex.load(ours_dir, mmap=mmap)
        self.peer = PeerSeismic.load(peer_file)
        self.peer_queries = prepare_queries(self.queries)

    def _ours_args(self, s: Setting) -> dict:
        first_sorted, global_order = OURS[s.order]
        return dict(query_cut=s.query_cut, heap_factor=s.heap_factor, first_sorted=first_sorted,
                    global_order=global_order, engine="seismic")  # fmt: skip

    def single(self, s: Setting):
        if s.system == "ours":
            args = self._ours_args(s)
            return lambda: [self.ours.search(t, w, K, **args) for t, w in self.rows]
        sort = PEER[s.order]
        return lambda: [
            self.peer.search(self.peer_queries, i, K, s.query_cut, s.heap_factor, sort)
            for i in range(len(self.rows))
        ]

    def batch(self, s: Setting):
        if s.system == "ours":
            args = self._ours_args(s)
            return lambda: self.ours.search_batch(self.queries, K, **args)
        return lambda: self.peer.batch_search(
            self.peer_queries, K, s.query_cut, s.heap_factor, PEER[s.order]
        )

    def measure_quality(self, s: Setting, truth: list[set[str]]) -> None:
        """Accuracy@10 of the batch results (and, for ours, documents scored per query)."""
        results = self.batch(s)()
        if s.system == "ours":
            ids = result_ids(results)
            s.scored = float(results.scored.mean())
        else:
            ids = results
        s.accuracy = _accuracy(ids, truth)


def sweep(systems: Systems, truth, query_cuts, heap_factors, rounds: int, clock: str):
    """Every setting of both systems measured; timings interleaved over ``rounds``."""
    settings = [
        Setting(system, order, qc, hf)
        for system, orders in (("ours", OURS), ("peer", PEER))
        for order in orders
        for qc in query_cuts
        for hf in heap_factors
    ]
    for s in settings:
        systems.measure_quality(s, truth)  # also compiles and pages in
    runs = [systems.single(s) for s in settings] + [systems.batch(s) for s in settings]
    with one_thread():
        seconds = fastest(runs, rounds, CLOCKS[clock])
    n = len(systems.rows)
    for s, single, batch in zip(settings, seconds[: len(settings)], seconds[len(settings) :]):
        s.single_us, s.batch_us = 1e6 * single / n, 1e6 * batch / n
    return settings


def best(settings, system: str, target: float, mode: str, order: str | None = None):
    """The fastest setting of ``system`` (one ``order``, or any) reaching ``target``."""
    reaching = [
        s for s in settings
        if s.system == system and s.accuracy >= target and order in (None, s.order)
    ]  # fmt: skip
    return min(reaching, key=lambda s: getattr(s, f"{mode}_us"), default=None)


def _name(s: Setting | None, mode: str) -> str:
    if s is None:
        return "not reached"
    scored = "" if np.isnan(s.scored) else f", {s.scored:,.0f} docs"
    return (
        f"{getattr(s, f'{mode}_us'):,.0f} µs ({s.order}, qc {s.query_cut}, hf {s.heap_factor}, "
        f"acc {s.accuracy:.3f}{scored})"
    )


def summary_lines(settings, targets) -> list[str]:
    """Per target and mode: each of our orders' best, our best, the peer's best, the ratio."""
    lines = ["| target | mode | " + " | ".join(f"ours {o}" for o in OURS)
             + " | peer (either) | ours best / peer |", "|---" * (len(OURS) + 4) + "|"]  # fmt: skip
    for target in targets:
        for mode in ("single", "batch"):
            cells = [_name(best(settings, "ours", target, mode, o), mode) for o in OURS]
            ours, peer = best(settings, "ours", target, mode), best(settings, "peer", target, mode)
            ratio = (
                f"{getattr(ours, f'{mode}_us') / getattr(peer, f'{mode}_us'):.2f}x"
                if ours and peer
                else "n/a"
            )
            lines.append(
                f"| {target} | {mode} | "
                + " | ".join(cells)
                + f" | {_name(peer, mode)} | {ratio} |"
            )
    return lines


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@OURS_OPTION
@PEER_OPTION
@QUERIES_OPTION
@click.option("--truth", "truth_path", type=click.Path(exists=True, path_type=Path),
              required=True, help="Exact top-10 ids per query (JSON, benchmarks.index's truth "
              "file); its length is the number of queries used (at most --n-queries).")  # fmt: skip
@click.option("--n-queries", default=300, show_default=True, help="First queries used.")
@click.option("--query-cut", default="5,10,20", show_default=True, help="Comma-separated grid.")
@click.option("--heap-factor", default="0.7,0.8,0.9,1.0", show_default=True,
              help="Comma-separated grid.")  # fmt: skip
@click.option("--targets", default="0.95,0.99", show_default=True,
              help="accuracy@10 targets of the summary.")  # fmt: skip
@click.option("--rounds", default=3, show_default=True, help="Interleaved rounds; fastest counts.")
@click.option("--clock", type=click.Choice(sorted(CLOCKS)), default="cpu", show_default=True,
              help="cpu: this process's CPU time, which other jobs do not inflate; wall: "
              "elapsed time.")  # fmt: skip
@click.option("--ours-arrays", type=click.Choice(["mapped", "in-memory"]), default="mapped",
              show_default=True, help="mapped: our index's arrays memory-mapped from its files, "
              "as `lsr serve` and `lsr index search` open it; in-memory: read into anonymous "
              "memory (`SeismicIndex.load(mmap=False)`), as pyseismic-lsr always holds its index: "
              "Linux backs such large arrays with 2 MiB pages, a file mapping mostly with 4 KiB "
              "ones, and the rows of a large index are read from memory at random.")  # fmt: skip
@click.option("--out", required=True, help="Report path without suffix (OUT.json, OUT.md).")
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(
    ours_dir, peer_file, queries_path, truth_path, n_queries, query_cut, heap_factor, targets,
    rounds, clock, ours_arrays, out, allow_dirty,
) -> None:  # fmt: skip
    """Both systems over one query_cut x heap_factor grid in every block order, one thread;
    each one's fastest setting reaching each target accuracy@10, and the ratio."""
    origin = provenance.record(provenance.command_line("benchmarks.block_order"), allow_dirty)
    started = time.perf_counter()
    truth = [set(row) for row in json.loads(truth_path.read_text())][:n_queries]
    systems = Systems(ours_dir, peer_file, queries_path, len(truth), ours_arrays == "mapped")
    query_cuts = [int(v) for v in query_cut.split(",")]
    settings = sweep(systems, truth, query_cuts, _floats(heap_factor), rounds, clock)
    result = {
        "provenance": origin,
        "clock": clock,
        "rounds": rounds,
        "ours_arrays": ours_arrays,
        "queries": len(truth),
        "settings": [s.__dict__ for s in settings],
        "seconds": time.perf_counter() - started,
    }
    rows = "\n".join(
        f"| {s.system} | {s.order} | {s.query_cut} | {s.heap_factor} | {s.accuracy:.4f} | "
        f"{s.scored:,.0f} | {s.single_us:,.0f} | {s.batch_us:,.0f} |"
        for s in settings
    )
    text = (
        "# Block orders: each system at its fastest setting reaching an accuracy\n\n"
        + provenance.markdown(origin)
        + f"\n{len(truth)} queries, one thread, fastest of {rounds} interleaved rounds by the "
        f"{clock} clock, µs per query; docs: documents our search scored per query; our "
        f"index's arrays {ours_arrays}.\n\n"
        + "\n".join(summary_lines(settings, _floats(targets)))
        + "\n\n| system | order | query_cut | heap_factor | accuracy@10 | docs scored | single µs "
        "| batch µs |\n|---|---|---|---|---|---|---|---|\n" + rows + "\n"
    )
    click.echo(provenance.save_report(out, result, text))


if __name__ == "__main__":
    provenance.run_main(main)
