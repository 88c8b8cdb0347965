"""The writer that the crash test kills: applies a list of operations to a living index,
counting those done in shared memory (imported by the forkserver as a module)."""

from __future__ import annotations

from living_model import METADATA, vectors
from lsr.index import BuildConfig
from lsr.index.living import LivingIndex

EXACT_MAX = 6
CONFIG = BuildConfig(n_postings=10**6)


def apply(index: LivingIndex, op: tuple) -> None:
    kind, *args = op
    if kind == "add":
        ids, seed = args
        index.add(vectors(ids, seed))
    elif kind == "delete":
        index.delete(args[0])
    else:
        index.merge(args[0])


def run(directory: str, ops: list[tuple], done) -> None:
    """Apply ``ops``; ``done`` is -1 until the writer starts, then counts the operations done."""
    done.value = 0
    with LivingIndex.open(
        directory, metadata=METADATA, config=CONFIG, exact_max_docs=EXACT_MAX
    ) as index:
        for op in ops:
            apply(index, op)
            done.value += 1


def warm_up(directory: str) -> None:
    """Load every kernel a writer runs (a merge builds a Seismic segment, searches scan)."""
    ops = [("add", [f"w{i}" for i in range(EXACT_MAX + 2)], 0), ("add", ["w0", "x"], 1)]
    ops += [("delete", ["x"]), ("merge", 1)]
    with LivingIndex.open(
        directory, metadata=METADATA, config=CONFIG, exact_max_docs=EXACT_MAX
    ) as index:
        for op in ops:
            apply(index, op)
        index.reader.exact().search_batch(vectors(["q"], 2), k=3)
