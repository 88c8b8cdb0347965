"""The training objective: one ranking loss plus the query and document regularizers.

    L = L_rank + lambda_q(t) R_q(queries) + lambda_d(t) R_d(documents)

with lambda(t) the quadratic warm-up (:mod:`lsr.train.regularizers.warmup`), optionally scaled by
the batch size (``batch_normalised``, derivation in :mod:`lsr.train.regularizers.flops`).
Documents are the batch's positives (in query order) then every negative; the distillation losses
score each query against its own positive and its first ``n_negatives`` negatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lsr.train.config import TrainConfig
from lsr.train.losses import DistillKLDivergence, InBatchCrossEntropy, MarginMSE
from lsr.train.regularizers import QuadraticWarmup, flops, idf_flops, l0_mask, l1
from lsr.train.regularizers.warmup import batch_scale


@dataclass(frozen=True)
class Terms:
    """The loss and each of its terms, as logged."""

    total: torch.Tensor
    ranking: float
    reg_q: float
    reg_d: float
    lambda_q: float
    lambda_d: float


class Objective:
    def __init__(self, config: TrainConfig, idf: torch.Tensor | None) -> None:
        self.config = config
        self.idf = idf
        scale = batch_scale(config.batch_size, config.reference_batch)
        scale = scale if config.batch_normalised else 1.0
        self.lambda_q = QuadraticWarmup(config.lambda_q * scale, config.reg_warmup_steps)
        self.lambda_d = QuadraticWarmup(config.lambda_d * scale, config.reg_warmup_steps)
        if config.loss == "in-batch":
            self.ranking = InBatchCrossEntropy(config.scale)
        elif config.loss == "margin-mse":
            self.ranking = MarginMSE()
        else:
            self.ranking = DistillKLDivergence(config.temperature)

    def __call__(
        self,
        queries: torch.Tensor,
        documents: torch.Tensor,
        teacher: torch.Tensor | None,
        step: int,
    ) -> Terms:
        ranking = self._ranking(queries, documents, teacher)
        lambda_q, lambda_d = self.lambda_q(step), self.lambda_d(step)
        reg_q = self._query_penalty(queries) if lambda_q > 0 else queries.new_zeros(())
        reg_d = self._document_penalty(documents) if lambda_d > 0 else documents.new_zeros(())
        total = ranking + lambda_q * reg_q + lambda_d * reg_d
        return Terms(
            total,
            float(ranking.detach()),
            float(reg_q.detach()),
            float(reg_d.detach()),
            lambda_q,
            lambda_d,
        )

    def _ranking(
        self, queries: torch.Tensor, documents: torch.Tensor, teacher: torch.Tensor | None
    ) -> torch.Tensor:
        if teacher is None:
            return self.ranking(queries, documents)
        batch = queries.shape[0]
        positives = documents[:batch]
        negatives = documents[batch:].view(batch, -1, documents.shape[1])
        candidates = torch.cat([positives.unsqueeze(1), negatives], dim=1)
        scores = torch.einsum("bv,bkv->bk", queries, candidates)
        return self.ranking(scores, teacher)

    def _query_penalty(self, queries: torch.Tensor) -> torch.Tensor:
        return l1(queries) if self.config.query_regularizer == "l1" else flops(queries)

    def _document_penalty(self, documents: torch.Tensor) -> torch.Tensor:
        threshold = self.config.l0_threshold
        mask = l0_mask(documents, threshold) if threshold > 0 else None
        if self.config.doc_regularizer == "idf-flops":
            return idf_flops(documents, self.idf, mask)
        return flops(documents, mask)
