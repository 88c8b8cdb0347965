"""The heterogeneous teacher ensemble of Geng, Ru, Yang, "Towards Competitive Search Relevance for
Inference-Free Learned Sparse Retrievers" (2024), section 3.3: teachers of different kinds (dense
and sparse) score on different scales, so each teacher's scores are min-max normalised per query
before they are combined. For a query q with documents d_1..d_m and teachers k = 1..K:

    n_k(q, d_i) = (s_k(q, d_i) - min_j s_k(q, d_j)) / (max_j s_k(q, d_j) - min_j s_k(q, d_j))
    s(q, d_i)   = S * sum_k w_k n_k(q, d_i) / sum_k w_k

A teacher that gives all of a query's documents one score expresses no preference and contributes
0 to each. The scale S sets the range of the targets, [0, S]: it matters to MarginMSE (margins are
compared to the student's own) and to KL distillation (the targets are logits).

The weights w are chosen by :func:`choose_weights` on held-out training queries (never the test
split): the ensemble's nDCG@10 there is also the ceiling a distilled student can be expected to
reach (``python -m benchmarks.teacher_ensemble`` measures it).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from lsr.errors import InputError
from lsr.eval.metrics import evaluate
from lsr.train.data.teachers import Teacher
from lsr.train.examples import TrainingExample

GRID_STEP = 0.1


def min_max(scores: np.ndarray) -> np.ndarray:
    """Scores mapped linearly onto [0, 1] (all zeros when they are all equal)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    low, span = scores.min(), np.ptp(scores)
    return (scores - low) / span if span > 0 else np.zeros_like(scores)


def combine(
    per_teacher: Sequence[Sequence[np.ndarray]], weights: Sequence[float], scale: float = 1.0
) -> list[np.ndarray]:
    """The ensemble's scores from each teacher's: ``per_teacher[k][q]`` scores query q's
    documents by teacher k."""
    weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    return [
        scale * sum(w * min_max(scores) for w, scores in zip(weights, by_query))
        for by_query in zip(*per_teacher)
    ]


class Ensemble:
    """Teachers combined by per-query min-max normalisation and a weighted average, times
    ``scale``. It is a :class:`~lsr.train.data.teachers.Teacher` itself."""

    name = "ensemble"

    def __init__(
        self,
        teachers: Sequence[Teacher],
        weights: Sequence[float] | None = None,
        scale: float = 1.0,
    ) -> None:
        if not teachers:
            raise InputError("teachers: an ensemble needs at least one teacher")
        weights = [1.0] * len(teachers) if weights is None else list(weights)
        if len(weights) != len(teachers):
            raise InputError(f"weights: {len(weights)} weights for {len(teachers)} teachers")
        if any(not np.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise InputError(f"weights must be finite, >= 0 and not all 0, got {weights}")
        if not np.isfinite(scale) or scale <= 0:
            raise InputError(f"scale must be a positive number, got {scale!r}")
        self.teachers = list(teachers)
        self.weights = weights
        self.scale = float(scale)

    def score(self, queries: Sequence[str], documents: Sequence[Sequence[str]]) -> list[np.ndarray]:
        per_teacher = [teacher.score(queries, documents) for teacher in self.teachers]
        return combine(per_teacher, self.weights, self.scale)

    def score_examples(self, examples: Sequence[TrainingExample]) -> list[TrainingExample]:
        """The examples with ``scores``: the ensemble's scores of (positive, *negatives)."""
        return score_examples(self, examples)


def score_examples(teacher: Teacher, examples: Sequence[TrainingExample]) -> list[TrainingExample]:
    """Each example with ``teacher``'s scores of its documents (positive first)."""
    scores = teacher.score([e.query for e in examples], [e.documents for e in examples])
    return [
        TrainingExample(e.query, e.positive, e.negatives, tuple(float(x) for x in s))
        for e, s in zip(examples, scores)
    ]


def simplex_grid(n_teachers: int, step: float = GRID_STEP) -> list[tuple[float, ...]]:
    """Every weight vector of ``n_teachers`` non-negative multiples of ``step`` summing to 1."""
    parts = round(1 / step)
    if n_teachers < 1 or not np.isclose(parts * step, 1.0):
        raise InputError(f"step must divide 1 (e.g. 0.1, 0.25), got {step!r}")
    return [
        tuple(c / parts for c in counts)
        for counts in itertools.product(range(parts + 1), repeat=n_teachers)
        if sum(counts) == parts
    ]


def ndcg_at_10(
    query_ids: Sequence[str],
    doc_ids: Sequence[Sequence[str]],
    scores: Sequence[np.ndarray],
    qrels: Mapping[str, Mapping[str, int]],
) -> float:
    """Mean nDCG@10 (trec_eval's, :mod:`lsr.eval.metrics`) of ranking each query's documents by
    ``scores``."""
    run = {
        q: {d: float(s) for d, s in zip(docs, row)}
        for q, docs, row in zip(query_ids, doc_ids, scores)
    }
    judged = {q: dict(qrels[q]) for q in query_ids}
    return evaluate(run, judged, ["ndcg@10"]).means["ndcg@10"]


def choose_weights(
    per_teacher: Sequence[Sequence[np.ndarray]],
    query_ids: Sequence[str],
    doc_ids: Sequence[Sequence[str]],
    qrels: Mapping[str, Mapping[str, int]],
    step: float = GRID_STEP,
) -> tuple[tuple[float, ...], float]:
    """The grid weights whose ensemble ranks the (held-out) queries' documents best by nDCG@10,
    and that nDCG@10; the first such point on ties."""
    best: tuple[tuple[float, ...], float] = ((), -1.0)
    for weights in simplex_grid(len(per_teacher), step):
        value = ndcg_at_10(query_ids, doc_ids, combine(per_teacher, weights), qrels)
        if value > best[1]:
            best = (weights, value)
    return best
