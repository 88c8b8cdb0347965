"""The regularization weight's schedule: quadratic warm-up (SPLADE, Formal et al. 2021, sec. 3.2;
naver/splade's ``RegWeightScheduler``):

    lambda_t = lambda * min(1, t / T)^2

A model that starts sparse-penalised at full strength collapses to empty vectors before the
ranking loss has taught it which terms matter; the quadratic ramp keeps the penalty negligible
for the first steps and reaches lambda at step T.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsr.errors import InputError


@dataclass(frozen=True)
class QuadraticWarmup:
    """``lambda * min(1, t / T)^2``; ``warmup_steps`` 0 means full strength from step 0."""

    weight: float
    warmup_steps: int

    def __post_init__(self) -> None:
        if self.weight < 0:
            raise InputError(f"a regularization lambda must be >= 0, got {self.weight}")
        if self.warmup_steps < 0:
            raise InputError(f"reg_warmup_steps must be >= 0, got {self.warmup_steps}")

    def __call__(self, step: int) -> float:
        if self.warmup_steps == 0:
            return self.weight
        return self.weight * min(1.0, step / self.warmup_steps) ** 2


def batch_scale(batch_size: int, reference_batch: int) -> float:
    """The factor ``B / reference_batch`` that keeps FLOPS' pressure on rare terms what it is at
    the reference batch size (derivation in :mod:`lsr.train.regularizers.flops`)."""
    return batch_size / reference_batch
