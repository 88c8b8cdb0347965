"""Stop a run whose vectors collapse to empty or explode, and say which lambda to change.

A FLOPS lambda too high for the batch size (see :mod:`lsr.train.regularizers.flops`) drives
every vector to zero within a few hundred steps, after which the ranking loss has no gradient
and the run is lost; a lambda too low leaves documents with thousands of terms, an index that
is slow to search. Both are visible in the per-step statistics long before the run ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lsr.errors import LsrError
from lsr.train.sparsity import SparsityStats


class TrainingCollapse(LsrError):
    """The model's vectors became empty or exploded; the message names the lambda to change."""


# side -> the configuration key of its regularization weight
LAMBDA_OF = {"queries": "lambda_q", "documents": "lambda_d"}


@dataclass
class CollapseGuard:
    """Raise :class:`TrainingCollapse` after ``patience`` consecutive steps in which a side's
    share of all-zero vectors reaches ``max_empty_share``, or its mean non-zero count exceeds
    ``max_mean_nnz``."""

    max_empty_share: float = 0.9
    max_mean_nnz: float = 2000.0
    patience: int = 20
    _streaks: dict[str, int] = field(default_factory=dict)

    def check(self, step: int, side: str, stats: SparsityStats) -> None:
        problem = self._problem(side, stats)
        self._streaks[side] = self._streaks.get(side, 0) + 1 if problem else 0
        if problem and self._streaks[side] >= self.patience:
            raise TrainingCollapse(f"step {step}: {problem}")

    def _problem(self, side: str, stats: SparsityStats) -> str | None:
        name = LAMBDA_OF[side]
        if stats.empty_share >= self.max_empty_share:
            return (
                f"{stats.empty_share:.0%} of the {side} vectors are empty (collapse); "
                f"lower {name} or raise reg_warmup_steps"
            )
        if stats.mean_nnz > self.max_mean_nnz:
            return (
                f"the {side} vectors have {stats.mean_nnz:.0f} non-zeros on average, above "
                f"max_mean_nnz {self.max_mean_nnz:g}; raise {name}"
            )
        return None
