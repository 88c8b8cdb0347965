"""KL-divergence distillation over each query's candidate list, as naver/splade's
``DistilKLLoss`` (SPLADE++, Formal et al., "From Distillation to Hard Negative Sampling", SIGIR
2022, sec. 3):

    L = 1/B sum_i KL( softmax(T_i / tau) || softmax(S_i / tau) )
      = 1/B sum_i sum_k p_ik (log p_ik - log softmax(S_i / tau)_k),   p_i = softmax(T_i / tau)

S_i the student's scores of query i's candidates (positive, then negatives), T_i the teacher's.
naver/splade has no temperature (tau = 1, the default here); a larger tau softens a teacher
whose scores are far apart (cross-encoder logits), as in Hinton et al. (2015), whose tau^2 factor
we leave out so that lambda values keep their meaning when tau changes.
"""

from __future__ import annotations

import torch
from torch import nn

from lsr.errors import InputError


class DistillKLDivergence(nn.Module):
    """KL(teacher distribution || student distribution) over each query's documents."""

    def __init__(self, temperature: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise InputError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature

    def forward(self, scores: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """``scores`` and ``teacher`` (B, 1 + K), in the same document order."""
        student = nn.functional.log_softmax(scores / self.temperature, dim=1)
        target = nn.functional.log_softmax(teacher / self.temperature, dim=1)
        return nn.functional.kl_div(student, target, reduction="batchmean", log_target=True)
