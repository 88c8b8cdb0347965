"""Runs: search results as TREC run files, and BEIR's rule for hits that are the query itself.

A TREC run line is ``query_id Q0 doc_id rank score tag``; the score decides the order (the rank
column is informational, as in trec_eval).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from lsr.eval.metrics import Run
from lsr.index import SearchResults

from lsr.errors import InputError, where


def without_identical_ids(results: SearchResults, depth: int) -> SearchResults:
    """BEIR's ``ignore_identical_ids``: drop every hit whose document id equals its query id,
    then keep ``depth`` hits per query (search ``depth + 1`` so that ``depth`` remain)."""
    docs = np.full((len(results), depth), -1, dtype=np.int64)
    scores = np.zeros((len(results), depth), dtype=np.float32)
    for i, query_id in enumerate(results.query_ids):
        row = results.docs[i]
        keep = [j for j, d in enumerate(row.tolist()) if d >= 0 and results.doc_ids[d] != query_id]
        keep = keep[:depth]
        docs[i, : len(keep)] = row[keep]
        scores[i, : len(keep)] = results.scores[i, keep]
    return SearchResults(results.query_ids, docs, scores, results.doc_ids)


def read_trec_run(path: str | os.PathLike) -> Run:
    """``{query_id: {doc_id: score}}`` from a TREC run file; a malformed line names its number."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: run file not found")
    run: Run = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 6:
                raise InputError(
                    f"{where(path, number)}: expected 6 columns "
                    f"(query_id Q0 doc_id rank score tag), got {len(fields)}"
                )
            query_id, _, doc_id, _, score, _ = fields
            try:
                run.setdefault(query_id, {})[doc_id] = float(score)
            except ValueError:
                raise InputError(
                    f"{where(path, number)}: score {score!r} is not a number"
                ) from None
    return run
