"""Bytes of an index's summaries in format version 3, computed from a saved version-2 index.

Version 3 (:mod:`index.summary`) changes the layout of the summaries, not their content: the same
blocks, entries and codes, grouped by 256 blocks with a directory per group. Its size is
therefore a function of the version-2 arrays, which this computes exactly (the same choice of
directory per group as :func:`index.summary._append_batch`) without rebuilding: a 1M-document
build of both systems takes half an hour of a quiet machine, where the issue's 1M figures were
measured (``reports/bench-index-1m-np3500.md``, index built at d28f6ca) and a 1M index of that
run's collection and parameters is kept (``/work/data/bench``).

Run: ``python -m benchmarks.summary_layout INDEX_DIR --out reports/NAME`` (a version-2 index
directory; writes ``NAME.json`` and ``NAME.md``).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
from lsr.index.summary import CHECKPOINT_STRIDE, GROUP_BLOCKS, WORD_BITS
from numba import njit

from benchmarks import provenance

#: Version 2's constants (index.summary before format version 3).
V2_STRIDE = 32
V2_NARROW = 256


@njit(nogil=True, cache=True)
def _group_directories(
    list_block_ptr, list_comp_ptr, comp_terms, comp_counts, checkpoints, shift, block8, block16,
    vocab_size,
):  # fmt: skip
    """Per version-3 group: its components, and its first and last term (-1: empty)."""
    n_groups_of = (np.diff(list_block_ptr) + GROUP_BLOCKS - 1) // GROUP_BLOCKS
    n_groups = n_groups_of.sum()
    comps = np.zeros(n_groups, np.int64)
    first = np.full(n_groups, -1, np.int64)
    last = np.full(n_groups, -1, np.int64)
    seen = np.full(n_groups, -1, np.int64)  # last term counted in the group
    g_base = 0
    for t in range(len(list_block_ptr) - 1):
        c0, c1 = list_comp_ptr[t], list_comp_ptr[t + 1]
        if c1 > c0:
            e = np.int64(checkpoints[c0 // V2_STRIDE])
            for c in range(c0 - c0 % V2_STRIDE, c0):
                e += comp_counts[c]
            wide = list_block_ptr[t + 1] - list_block_ptr[t] > V2_NARROW
            for c in range(c0, c1):
                term = np.int64(comp_terms[c])
                for i in range(e, e + comp_counts[c]):
                    b = np.int64(block16[i + shift[t]]) if wide else np.int64(block8[i + shift[t]])
                    g = g_base + b // GROUP_BLOCKS
                    if seen[g] != term:
                        seen[g] = term
                        comps[g] += 1
                        if first[g] < 0:
                            first[g] = term
                        last[g] = term
                e += comp_counts[c]
        g_base += n_groups_of[t]
    return comps, first, last


def v3_bytes(directory: Path) -> dict:
    """Bytes of each version-3 summary array for the version-2 index in ``directory``."""
    manifest = json.loads((directory / "manifest.json").read_text())
    if manifest["format_version"] != 2:
        raise click.UsageError(f"{directory}: format version {manifest['format_version']}, not 2")

    def load(name: str) -> np.ndarray:
        return np.load(directory / f"{name}.npy", mmap_mode="r")

    list_block_ptr = load("list_block_ptr")
    comps, first, last = _group_directories(
        list_block_ptr, load("list_comp_ptr"), load("comp_terms"), load("comp_counts"),
        load("comp_checkpoints"), load("list_block_shift"), load("entry_block8"),
        load("entry_block16"), manifest["vocab_size"],
    )  # fmt: skip
    n_entries = len(load("entry_code"))
    n_blocks = len(list_block_ptr) and int(list_block_ptr[-1])
    n_groups, n_comps = len(comps), int(comps.sum())
    span = np.where(comps > 0, last // WORD_BITS - first // WORD_BITS + 1, 0)
    term_bytes = load("comp_terms").dtype.itemsize
    word_bytes = 8 + (2 if manifest["vocab_size"] <= 1 << 16 else 4)
    dense = (comps > 0) & (span * word_bytes < comps * term_bytes)
    offset = 4 if n_entries < 2**31 - 1 else 8
    arrays = {
        "group offsets and first words": 4 * (len(list_block_ptr) + 4 * n_groups + 3),
        "comp_terms (sparse directories)": int(comps[~dense].sum()) * term_bytes,
        "word_bits + word_comp (dense directories)": int(span[dense].sum()) * word_bytes,
        "comp_counts": n_comps,
        "comp_checkpoints": offset * -(-n_comps // CHECKPOINT_STRIDE),
        "entry_block + entry_code": 2 * n_entries,
        "block_min + block_scale": 8 * n_blocks,
    }
    v2 = manifest["stats"]["bytes"]
    total = sum(arrays.values())
    return {
        "index": str(directory),
        "entries": n_entries,
        "groups": n_groups,
        "dense_groups": int(dense.sum()),
        "components_v3": n_comps,
        "components_v2": len(load("comp_counts")),
        "summaries_v3_bytes": arrays,
        "summaries_v3_mib": total / 2**20,
        "summaries_v2_mib": v2["summaries"] / 2**20,
        "index_v3_mib": (v2["total"] - v2["summaries"] + total) / 2**20,
        "index_v2_mib": v2["total"] / 2**20,
    }


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, help="Report path without suffix (OUT.json, OUT.md).")
@click.option("--allow-dirty", is_flag=True, help=provenance.ALLOW_DIRTY_HELP)
def main(directory: Path, out: str, allow_dirty: bool) -> None:
    """Version-3 summary bytes of the version-2 index DIRECTORY, array by array."""
    origin = provenance.record(provenance.command_line("benchmarks.summary_layout"), allow_dirty)
    result = v3_bytes(directory)
    table = "\n".join(f"| {name} | {n:,} |" for name, n in result["summaries_v3_bytes"].items())
    text = (
        "# Summaries in format version 3, from a version-2 index\n\n"
        + provenance.markdown(origin)
        + f"\nIndex: `{directory}`: {result['entries']:,} entries, {result['groups']:,} groups "
        f"({result['dense_groups']:,} with a bitmap directory), components "
        f"{result['components_v2']:,} (v2) -> {result['components_v3']:,} (v3).\n\n"
        "| array | bytes |\n|---|---|\n" + table + "\n\n"
        f"Summaries: {result['summaries_v2_mib']:.1f} MiB (v2) -> "
        f"{result['summaries_v3_mib']:.1f} MiB (v3); index: {result['index_v2_mib']:.1f} -> "
        f"{result['index_v3_mib']:.1f} MiB.\n"
    )
    click.echo(provenance.save_report(out, {"provenance": origin, **result}, text))


if __name__ == "__main__":
    provenance.run_main(main)
