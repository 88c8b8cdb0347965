"""MarginMSE distillation (Hofstätter et al., "Improving Efficient Neural Ranking Models with
Cross-Architecture Knowledge Distillation", 2020, eq. 1), as naver/splade's ``DistilMarginMSE``:

    L = mean over (query i, negative k) of ( (S_i,pos - S_i,k) - (T_i,pos - T_i,k) )^2

S the student's scores, T the teacher's. Only score *differences* are matched, so a teacher on
any scale (a cross-encoder's logits, BM25) can teach a dot-product student. With several
negatives per query, each (positive, negative) margin is one term of the mean.
"""

from __future__ import annotations

import torch
from torch import nn


class MarginMSE(nn.Module):
    """Mean squared error between the student's and the teacher's positive-minus-negative margins."""

    def forward(self, scores: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """``scores`` and ``teacher`` (B, 1 + K): column 0 the positive, then K negatives."""
        student_margin = scores[:, :1] - scores[:, 1:]
        teacher_margin = teacher[:, :1] - teacher[:, 1:]
        return nn.functional.mse_loss(student_margin, teacher_margin)
