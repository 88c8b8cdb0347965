"""In-batch negatives + hard negatives cross-entropy (the contrastive loss of DPR and SPLADE).

Karpukhin et al., "Dense Passage Retrieval for Open-Domain Question Answering" (EMNLP 2020),
eq. 2, as SPLADE v2 trains with it (Formal et al. 2021, sec. 3.1, naver/splade's
``InBatchPairwiseNLL``): with q_i the i-th query of a batch of B, d_i its positive and the
batch's hard negatives n_1..n_M (all queries' negatives pooled),

    L = -1/B sum_i log( exp(s * <q_i, d_i>) / sum_{d in {d_1..d_B, n_1..n_M}} exp(s * <q_i, d>) )

where ``s`` is a scale (the inverse of a temperature; SPLADE uses 1, dense models with cosine
scores use 20). Every other query's positive is a negative for q_i, for free.
"""

from __future__ import annotations

import torch
from torch import nn

from lsr.errors import InputError


class InBatchCrossEntropy(nn.Module):
    """Cross-entropy of each query's positive against every document of the batch."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        if scale <= 0:
            raise InputError(f"scale must be positive, got {scale}")
        self.scale = scale

    def forward(self, queries: torch.Tensor, documents: torch.Tensor) -> torch.Tensor:
        """``queries`` (B, V); ``documents`` (B + M, V): the B positives in query order, then
        every hard negative of the batch."""
        scores = self.scale * (queries @ documents.T)
        labels = torch.arange(queries.shape[0], device=queries.device)
        return nn.functional.cross_entropy(scores, labels)
