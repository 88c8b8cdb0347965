"""Summary scoring of an older summary layout against the current one, on two builds of one
collection.

A summary format change (:mod:`index.summary`: format 3's groups, format 5's masks) leaves the
documents, blocks and summary entries as they were: the only search work it touches is
:func:`~index.summary.score_summaries`. This times that kernel alone, the old one (read from
git, ``--old-commit``, so nothing of it stays in the package) on the index it wrote and the
current one on its own, on the same queries and lists (each query's ``query_cut`` heaviest
terms, as the search calls it), one thread, fastest of interleaved rounds, and checks that both
give the same block scores.

Run: ``python -m benchmarks.summary_speed --old-index OLD_DIR --new-index NEW_DIR --queries
PARQUET --old-commit COMMIT --out reports/NAME`` (the default commit is the last that wrote
format 2).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from dataclasses import fields
from pathlib import Path

import click
import numpy as np
from lsr.index import summary as new_summary
from lsr.index.persist import load_arrays
from lsr.index.seismic import summary_mask_blocks
from lsr.index.timing import fastest, one_thread
from numba import njit

from benchmarks import provenance
from lsr.vector_io import read_vectors

ROOT = Path(__file__).resolve().parents[1]
#: The last commit whose index wrote format version 2.
OLD_COMMIT = "c292f4f^"


@njit(nogil=True)
def _drive(kernel, summaries, list_block_ptr, queries, query_cut, out):
    """Every query's summary scoring; ``out[i]`` the sum of list ``i``'s block scores."""
    q_indptr, q_terms, q_weights = queries
    block_scores = np.empty(max(1, np.diff(list_block_ptr).max()), np.float32)
    i = 0
    for q in range(len(q_indptr) - 1):
        terms = q_terms[q_indptr[q] : q_indptr[q + 1]]
        weights = q_weights[q_indptr[q] : q_indptr[q + 1]]
        for j in np.argsort(-weights, kind="mergesort")[:query_cut]:
            b0, b1 = list_block_ptr[terms[j]], list_block_ptr[terms[j] + 1]
            kernel(summaries, terms[j], b0, b1, terms, weights, block_scores)
            out[i] = block_scores[: b1 - b0].astype(np.float64).sum()
            i += 1


def _old_module(commit: str):
    """``index/summary.py`` as of ``commit``, imported under another name."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:index/summary.py"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "summary_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("summary_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["summary_old"] = module
    spec.loader.exec_module(module)
    return module


def _arrays(directory: Path, module) -> tuple[tuple, np.ndarray]:
    """The summaries as ``module``'s kernel takes them (from format 5 on, through its own
    loader, which reads older formats too), and the lists' block offsets."""
    if hasattr(module.Summaries, "from_arrays"):
        manifest, arrays = load_arrays(directory)
        mask_blocks = summary_mask_blocks(manifest, str(directory))
        summaries = module.Summaries.from_arrays(arrays, mask_blocks).kernel_arrays()
        return summaries, arrays["list_block_ptr"]

    def load(name: str) -> np.ndarray:
        return np.asarray(np.load(directory / f"{name}.npy", mmap_mode="r"))

    return tuple(load(f.name) for f in fields(module.Summaries)), load("list_block_ptr")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--old-index", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--new-index", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--queries", "queries_path", type=click.Path(exists=True, path_type=Path),
              required=True)  # fmt: skip
@click.option("--old-commit", default=OLD_COMMIT, show_default=True)
@click.option("--query-cut", default=10, show_default=True)
@click.option("--rounds", default=5, show_default=True)
@click.option("--out", required=True, help="Report path without suffix (OUT.json, OUT.md).")
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(old_index, new_index, queries_path, old_commit, query_cut, rounds, out, allow_dirty):
    """Time the old and the current summary scoring on the same queries and lists."""
    origin = provenance.record(provenance.command_line("benchmarks.summary_speed"), allow_dirty)
    queries = read_vectors(queries_path)
    arrays = (queries.indptr, queries.indices.astype(np.int32), queries.values.astype(np.float32))
    n_lists = int(np.minimum(np.diff(queries.indptr), query_cut).sum())
    old = _old_module(old_commit)
    systems = {
        "old": (old.score_summaries, *_arrays(old_index, old)),
        "new": (new_summary.score_summaries, *_arrays(new_index, new_summary)),
    }
    sums = {name: np.zeros(n_lists) for name in systems}
    runs = [
        lambda name=name, s=s: _drive(s[0], s[1], s[2], arrays, query_cut, sums[name])
        for name, s in systems.items()
    ]
    with one_thread():
        for run in runs:
            run()
        seconds = fastest(runs, rounds)
    np.testing.assert_allclose(sums["new"], sums["old"], rtol=1e-5)
    us = {name: s / len(queries) * 1e6 for name, s in zip(systems, seconds, strict=True)}
    result = {"provenance": origin, "queries": len(queries), "query_cut": query_cut,
              "lists": n_lists, "microseconds_per_query": us, "ratio_new_old": us["new"] / us["old"]}  # fmt: skip
    text = (
        "# Summary scoring, the current layout against an older one\n\n"
        + provenance.markdown(origin)
        + f"\nIndexes: `{old_index}` (old: kernel of {old_commit}), `{new_index}` (new). "
        f"{len(queries)} queries, query_cut {query_cut} ({n_lists} lists), one thread, fastest "
        f"of {rounds} interleaved rounds; block scores agree (rtol 1e-5).\n\n"
        f"Microseconds per query: old {us['old']:.1f}, new {us['new']:.1f}: "
        f"new / old = {us['new'] / us['old']:.3f}.\n"
    )
    click.echo(provenance.save_report(out, result, text))


if __name__ == "__main__":
    provenance.run_main(main)
