"""The l0 mask (Shen, Geng, Yang, "Exploring l0 Sparsification for Inference-free Sparse
Retrievers", SIGIR 2025, sec. 3.1): the document FLOPS is applied only to documents that are not
sparse enough yet,

    M(d_i) = 1[ ||w(d_i)||_0 > t ],    L = sum_j ( 1/N sum_i M(d_i) idf_j w(d_i)_j )^2

so a document with at most t non-zero terms is left to the ranking loss alone, instead of being
pushed towards emptiness like every other document. The mask is a constant of the step (the count
of non-zeros has no gradient); the mean still divides by the whole batch N.
"""

from __future__ import annotations

import torch


def l0_mask(weights: torch.Tensor, threshold: int) -> torch.Tensor:
    """``1[nnz(row) > threshold]`` per row, as a (batch,) boolean tensor (no gradient)."""
    return (weights.detach() > 0).sum(dim=1) > threshold
