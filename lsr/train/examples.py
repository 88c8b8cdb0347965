"""The one record training reads: a query, its positive document, optional negatives and optional
teacher scores. Every data source (BEIR train qrels, JSONL pairs, mined hard negatives, teacher
ensembles, self-supervised pseudo-queries) produces these, and the trainer consumes only these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingExample:
    """``scores``, when present, are the teacher's scores of ``(positive, *negatives)`` in order:
    the targets of the MarginMSE and KL-divergence distillation losses."""

    query: str
    positive: str
    negatives: tuple[str, ...] = ()
    scores: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.scores is not None and len(self.scores) != 1 + len(self.negatives):
            raise ValueError(
                f"scores has {len(self.scores)} values for {1 + len(self.negatives)} documents "
                "(the positive, then each negative)"
            )

    @property
    def documents(self) -> tuple[str, ...]:
        """The positive, then the negatives: the order of ``scores``."""
        return (self.positive, *self.negatives)
