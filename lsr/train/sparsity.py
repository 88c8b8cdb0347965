"""What the trainer logs about a batch of sparse vectors: mean non-zeros, the share of all-zero
vectors, and the batch's FLOPS (Paria et al. 2020: the expected dot-product cost, estimated as
``sum_j p_j^2`` with p_j the share of the batch's vectors that use term j)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SparsityStats:
    mean_nnz: float
    empty_share: float
    flops: float

    @classmethod
    def of(cls, weights: torch.Tensor) -> SparsityStats:
        active = weights.detach() > 0
        nnz = active.sum(dim=1).float()
        usage = active.float().mean(dim=0)
        return cls(
            mean_nnz=float(nnz.mean()),
            empty_share=float((nnz == 0).float().mean()),
            flops=float(usage.pow(2).sum()),
        )
