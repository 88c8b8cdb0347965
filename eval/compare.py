"""Is run A better than run B? Paired significance tests over the queries, through ranx.

ranx's ``compare`` pairs the per-query values of each metric and tests them (Student's paired
t-test by default, as trec_eval users do; Fisher's randomization test on request; Smucker, Allan &
Carterette, CIKM 2007, compare the two). Runs are put in trec_eval's order first (see
:mod:`eval.metrics`), so the compared values are the ones ``lsr eval`` reports.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsr.eval.metrics import METRICS, Qrels, judged_queries_only, trec_eval_order
from lsr.eval.runs import read_trec_run

STAT_TESTS = ("student", "fisher", "tukey")


def compare_runs(
    paths: Sequence[str | os.PathLike],
    qrels: Qrels,
    metrics: Sequence[str] = METRICS,
    stat_test: str = "student",
    max_p: float = 0.05,
) -> Any:
    """A ranx ``Report``: each run's mean per metric, with the runs it beats significantly."""
    import ranx

    runs = []
    for path, name in zip(paths, run_names(paths)):
        run = trec_eval_order(judged_queries_only(read_trec_run(path), qrels))
        runs.append(ranx.Run(run, name=name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ranx.compare(
            ranx.Qrels({q: dict(d) for q, d in qrels.items()}),
            runs,
            list(metrics),
            stat_test=stat_test,
            max_p=max_p,
            make_comparable=True,
        )


def run_names(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Shortest distinct names: file names, with parent folders added until they differ."""
    parts = [Path(p).resolve().parts for p in paths]
    for depth in range(1, max(len(p) for p in parts) + 1):
        names = ["/".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return [str(p) for p in paths]
