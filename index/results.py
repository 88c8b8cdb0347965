"""Search results: positions and scores of the top-k documents of each query.

One :class:`SearchResults` is what every searcher in ``index/`` returns (exact and Seismic), so
that evaluation, the CLI and the service consume one shape: a ``[n_queries, k]`` matrix of
collection positions (``-1`` where a query has fewer than ``k`` hits) and one of scores, each row
sorted best first, plus the string ids needed to turn positions into a TREC run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from lsr.index.persist import ids_at

from lsr.atomic import atomic_path
from lsr.errors import InputError


@dataclass
class SearchResults:
    """Top-k of a batch of queries.

    ``docs`` (int64) and ``scores`` (float32) are ``[n_queries, k]``; a row lists its hits in
    decreasing score, ties broken by lower collection position, then ``-1`` / ``0.0`` padding.
    ``scored``, when the searcher reports it, is how many documents each query scored exactly.
    """

    query_ids: list[str]
    docs: np.ndarray
    scores: np.ndarray
    doc_ids: Sequence[str]
    scored: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.query_ids = list(self.query_ids)
        if self.docs.ndim != 2 or self.docs.shape != self.scores.shape:
            raise InputError(
                f"docs {self.docs.shape} and scores {self.scores.shape} must be equal 2-d shapes"
            )
        if self.docs.shape[0] != len(self.query_ids):
            raise InputError(
                f"{len(self.query_ids)} query ids but {self.docs.shape[0]} result rows"
            )

    def __len__(self) -> int:
        return len(self.query_ids)

    @property
    def k(self) -> int:
        return self.docs.shape[1]

    def hits(self, i: int) -> list[tuple[str, float]]:
        """``(doc_id, score)`` of query ``i``, best first, padding left out."""
        return [
            (self.doc_ids[d], float(s))
            for d, s in zip(self.docs[i].tolist(), self.scores[i].tolist())
            if d >= 0
        ]

    def to_dict(self) -> dict[str, dict[str, float]]:
        """``{query_id: {doc_id: score}}``, the run layout of ranx and pytrec_eval.

        A query without hits maps to an empty dict, so that no query silently disappears.
        """
        return {qid: dict(self.hits(i)) for i, qid in enumerate(self.query_ids)}

    def write_trec(self, path: str | os.PathLike, tag: str = "lsr") -> None:
        """Write a TREC run (``qid Q0 docid rank score tag``), atomically.

        Scores are printed with 9 significant digits, enough to round-trip a float32, so that
        evaluation tools break ties exactly as our ranking does.
        """
        if not tag or any(c.isspace() for c in tag):
            raise InputError(f"tag must be a non-empty word without spaces, got {tag!r}")
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
            for i, qid in enumerate(self.query_ids):
                for rank, (doc_id, score) in enumerate(self.hits(i), start=1):
                    handle.write(f"{qid} Q0 {doc_id} {rank} {score:.9g} {tag}\n")


def row_hits(
    doc_ids: Sequence[str], docs: np.ndarray, scores: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Ids and scores of one result row (``docs`` / ``scores`` of one query, its ``-1``
    padding a tail): what a single-query search returns. Reading the positions as a list and
    cutting at the first ``-1`` costs a third of masking both arrays; a full row (k results,
    nearly every query) is returned as it is, without the copies of a cut."""
    positions = docs.tolist()
    if positions and positions[-1] < 0:
        n = positions.index(-1)
        return ids_at(doc_ids, positions[:n]), scores[:n]
    return ids_at(doc_ids, positions), scores
