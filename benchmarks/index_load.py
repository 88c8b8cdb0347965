"""What the structural checks of ``SeismicIndex.load`` cost (``index/integrity.py``).

Measured on a saved index (warm page cache: the figure is the checks' CPU, not the disk), then on
valid arrays of the same kinds scaled to ``--scale`` documents with the saved index's per-document
sizes (offsets, term ids, postings, blocks, ids), so that the cost at 1M documents is measured on
arrays of that size rather than extrapolated. Best of ``--repeats``. With ``--synthetic N`` the
index is first built (if ``--index`` does not exist yet) from ``N`` documents of
:mod:`benchmarks.synthetic` with ``--n-postings``; the report gives the index's parameters.

    python -m benchmarks.index_load --index 200k.index --synthetic 200000 --n-postings 1000 \
        --scale 1000000 --out reports/index-load
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from lsr.index import BuildConfig, SeismicIndex
from lsr.index.forward import ForwardIndex, term_dtype
from lsr.index.integrity import check_index
from lsr.index.postings import PostingLists
from lsr.index.summary import GROUP_BLOCKS

from benchmarks import provenance
from benchmarks.synthetic import generate


def best_seconds(call: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def check_call(index: SeismicIndex, id_bytes: np.ndarray, id_offsets: np.ndarray):
    return lambda: check_index(
        ".", len(index), id_bytes, id_offsets, index.forward, index.postings, index.summaries,
        index.knn,
    )  # fmt: skip


def _offsets(n: int, total: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """``n + 1`` non-decreasing offsets from 0 to ``total``."""
    cuts = np.sort(rng.integers(0, total + 1, size=n - 1))
    return np.concatenate([[0], cuts, [total]]).astype(dtype)


def _scaled_list_blocks(list_block_ptr: np.ndarray, factor: float, mask_blocks: int) -> np.ndarray:
    """Offsets of every list's blocks, ``factor`` times as many per list but within the groups
    of 256 blocks that the kept summaries describe: a list keeps its number of groups, and its
    last group stays masked (at most ``mask_blocks`` blocks, format 5) or not (the checks
    compare the summaries' group offsets with the blocks')."""
    counts = np.diff(list_block_ptr).astype(np.int64)
    groups = -(-counts // GROUP_BLOCKS)
    full = np.maximum(groups - 1, 0) * GROUP_BLOCKS  # blocks of the groups before the last
    masked = counts - full <= mask_blocks
    lowest = np.where(masked, full + 1, full + mask_blocks + 1) * (groups > 0)
    highest = np.where(masked, full + mask_blocks, groups * GROUP_BLOCKS) * (groups > 0)
    counts = np.clip(np.rint(counts * factor).astype(np.int64), lowest, highest)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)


def scaled(index: SeismicIndex, n_docs: int, seed: int = 0) -> tuple[SeismicIndex, ...]:
    """Valid arrays of the kinds the checks read, with ``index``'s sizes per document scaled
    to ``n_docs`` (the summaries keep their own: their entries are not scanned; the blocks
    stay within the summaries' groups, see :func:`_scaled_list_blocks`)."""
    rng = np.random.default_rng(seed)
    factor = n_docs / len(index)
    nnz = int(index.forward.nnz * factor)
    n_postings = int(len(index.postings.post_docs) * factor)
    list_block_ptr = _scaled_list_blocks(
        index.postings.list_block_ptr, factor, index.summaries.mask_blocks
    )
    n_blocks = int(list_block_ptr[-1])
    value_dtype = index.forward.value_dtype
    forward = ForwardIndex(
        _offsets(n_docs, nnz, rng, np.int64),
        rng.integers(0, index.vocab_size, size=nnz, dtype=term_dtype(index.vocab_size)),
        np.zeros(nnz, np.uint16 if value_dtype == "float16" else np.float32),
        value_dtype,
        index.vocab_size,
    ).to_side_by_side()  # the layout a format 4 index holds
    doc_dtype = np.int32 if n_docs > (1 << 16) else index.postings.post_docs.dtype
    postings = PostingLists(
        list_block_ptr,
        _offsets(n_blocks, n_postings, rng, np.int32),
        rng.integers(0, n_docs, size=n_postings).astype(doc_dtype),
    )
    summaries = replace(
        index.summaries,
        block_min=np.zeros(n_blocks, np.float32),
        block_scale=np.zeros(n_blocks, np.float32),
    )
    ids = [f"d{i}" for i in range(n_docs)]
    id_bytes = np.frombuffer("".join(ids).encode(), np.uint8)
    id_offsets = np.concatenate([[0], np.cumsum([len(i) for i in ids])])
    big = SeismicIndex(
        ids, index.metadata, index.config, forward, postings, summaries,
        np.zeros((n_docs, index.knn.shape[1]), np.int32), {},
    )  # fmt: skip
    return big, id_bytes, id_offsets


def sizes(index: SeismicIndex) -> dict[str, int]:
    return {
        "documents": len(index),
        "nnz": index.forward.nnz,
        "postings": len(index.postings.post_docs),
        "blocks": index.postings.n_blocks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="A saved Seismic index.")
    parser.add_argument("--synthetic", type=int, help="Build --index first from N documents.")
    parser.add_argument("--n-postings", type=int, default=BuildConfig.n_postings)
    parser.add_argument("--scale", type=int, default=1_000_000, help="Documents to scale to.")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("reports/index-load"))
    parser.add_argument("--allow-dirty", action="store_true", help=provenance.ALLOW_DIRTY_HELP)
    args = parser.parse_args()
    record = provenance.record(provenance.command_line("benchmarks.index_load"), args.allow_dirty)
    if args.synthetic and not args.index.exists():
        docs, _ = generate(args.synthetic, 1, progress=True)
        config = BuildConfig(n_postings=args.n_postings)
        SeismicIndex.build(docs, config, progress=True).save(args.index)
    index = SeismicIndex.load(args.index)  # warms the page cache and the imports
    record["index"] = {"documents": len(index), "config": index.config.to_json()}
    id_bytes = np.asarray(index.doc_ids._data)
    id_offsets = np.asarray(index.doc_ids._offsets)
    rows = [
        (
            f"saved index {args.index.name}",
            sizes(index),
            best_seconds(lambda: SeismicIndex.load(args.index), args.repeats),
            best_seconds(check_call(index, id_bytes, id_offsets), args.repeats),
        )
    ]
    big, big_bytes, big_offsets = scaled(index, args.scale)
    rows.append(
        (
            f"its arrays scaled to {args.scale:,} documents",
            sizes(big),
            None,
            best_seconds(check_call(big, big_bytes, big_offsets), args.repeats),
        )
    )
    payload = {"provenance": record, "rows": [list(row) for row in rows]}
    print(provenance.save_report(args.out, payload, markdown(record, rows)))


def markdown(record: dict[str, Any], rows: list[tuple]) -> str:
    lines = [
        "# Cost of the structural checks of `SeismicIndex.load`",
        "",
        provenance.markdown(record),
        f"Index: {record['index']['documents']:,} documents, built with "
        + ", ".join(f"{k} {v}" for k, v in record["index"]["config"].items())
        + ".",
        "",
        "Warm page cache, one thread, best of the repeats. The checks read the offsets, the "
        "term ids of the forward index, the posting lists' document ids and the document ids' "
        "bytes (`index/integrity.py`); the summaries' entries are bounded in the kernel instead.",
        "",
        "| arrays | documents | non-zeros | postings | blocks | load (ms) | checks (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, size, load, checks in rows:
        shown = "" if load is None else f"{1000 * load:.1f}"
        lines.append(
            f"| {label} | {size['documents']:,} | {size['nnz']:,} | {size['postings']:,} | "
            f"{size['blocks']:,} | {shown} | {1000 * checks:.1f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    provenance.run_main(main)
