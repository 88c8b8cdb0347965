"""Cross-validation over SciFact's train queries for the trainer's recipe choices (issue 13).

A recipe compared on one 200-query dev split moved by 0.01-0.03 nDCG@10 with the seed alone
(reports/train-demo.md, item 12), more than the differences being chosen. Reading every one of
the 809 train queries once as dev, over ``k`` folds, gives each comparison ``k`` paired
differences on four times the dev queries.

The partition is fixed by a seed and written to ``OUT/folds.json``; fold ``i``'s folder
``OUT/fold{i}`` is a BEIR folder (corpus and queries linked) whose ``qrels/train.tsv`` holds the
other folds' queries and ``qrels/dev.tsv`` its own, for ``lsr train --dataset OUT/fold{i}
--eval-dataset OUT/fold{i}/dev``.

A fold prepares its own examples (``lsr train`` caches them per dataset): the BM25 negatives are
drawn by one generator over the examples in order, so the 809 queries' examples cut to a fold
would not be those the fold's own preparation draws.

    python -m benchmarks.train_folds --out runs/cv
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.train_sweep import DATA_DIR, write_split
from lsr.atomic import write_json_atomic

K, SEED = 4, 0


def partition(query_ids: Sequence[str], k: int, seed: int) -> list[list[str]]:
    """``k`` disjoint folds covering ``query_ids``, sizes within one of each other: a seeded
    permutation of the sorted ids cut into ``k`` runs, each in id order."""
    if not 1 < k <= len(query_ids):
        raise ValueError(f"k must be in 2..{len(query_ids)}, got {k}")
    shuffled = np.random.default_rng(seed).permutation(sorted(query_ids))
    return [sorted(part.tolist()) for part in np.array_split(shuffled, k)]


@dataclass(frozen=True)
class Decision:
    """The paired rule of reports/train-demo.md items 11-13 over ``d = candidate - base``."""

    n: int
    mean: float
    sd: float
    two_se: float
    chosen: bool


def decide(base: Sequence[float], candidate: Sequence[float], min_pairs: int) -> Decision:
    """Chosen iff at least ``min_pairs`` pairs, ``mean(d) > 0`` and ``mean(d) > 2 sd(d) / sqrt(n)``
    (``sd`` the sample standard deviation, n - 1)."""
    if len(base) != len(candidate):
        raise ValueError(f"{len(base)} base figures for {len(candidate)} candidate figures")
    d = np.asarray(candidate, dtype=float) - np.asarray(base, dtype=float)
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    two_se = 2 * sd / math.sqrt(n) if n > 1 else math.nan
    return Decision(n, mean, sd, two_se, n >= min_pairs and mean > 0 and mean > two_se)


def write_folds(out: Path, data_dir: str, k: int, seed: int) -> list[Path]:
    """``OUT/folds.json`` and one split folder per fold."""
    from lsr.datasets import load_dataset

    train = load_dataset(Path(data_dir, "scifact")).qrels("train")
    folds = partition(list(train), k, seed)
    write_json_atomic(out / "folds.json", {"k": k, "seed": seed, "folds": folds})
    return [
        write_split(out / f"fold{i}", data_dir, dev, with_dev=True) for i, dev in enumerate(folds)
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data-dir", default=DATA_DIR)
    parser.add_argument("--folds", type=int, default=K)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for folder in write_folds(args.out, args.data_dir, args.folds, args.seed):
        counts = {}
        for split in ("train", "dev"):
            lines = (folder / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]
            counts[split] = (len({line.split("\t")[0] for line in lines}), len(lines))
        print(json.dumps({"fold": folder.name, "queries_pairs": counts}))


if __name__ == "__main__":
    main()
