"""FLOPS regularizer (Paria et al., "Minimizing FLOPs to Learn Efficient Sparse
Representations", ICLR 2020, eq. 4), as SPLADE uses it (Formal et al. 2021, eq. 4):

    FLOPS(W) = sum_j ( 1/B sum_i |w_ij| )^2

the squared mean activation of each vocabulary term over a batch of B vectors: a smooth
stand-in for the expected number of floating-point operations of a query-document dot product,
which grows with the square of each term's posting-list share. Terms that many texts use are
pushed down hardest, which is what makes posting lists short.

**How lambda scales with the batch size.** Take a term that only one text of the batch uses,
with weight w: FLOPS = (w / B)^2 and its gradient is 2 w / B^2, while a ranking loss averaged over
the batch gives each text a gradient of order 1 / B. The sparsity pressure on rare terms, which
are most of a SPLADE document's non-zeros, is therefore 2 w / B relative to the ranking loss:
halving the batch doubles it, and a lambda tuned at batch 32 gives sparser vectors at batch 16
(the drift every SPLADE trainer's users report). A term every text uses with weight w gets
FLOPS = w^2 and a relative pressure of 2 w whatever B is. ``batch_normalised=True`` in the
training configuration multiplies lambda by B / reference_batch (see
:func:`lsr.train.regularizers.warmup.batch_scale`), which holds the rare-term pressure at what it
is at the reference batch size, at the price of scaling the common-term pressure with B.

**IDF-aware FLOPS** (Geng, Ru, Yang, "Towards Competitive Search Relevance For Inference-Free
Learned Sparse Retrievers", 2024): for inference-free models, whose query weights are idf values,
the cost and the score of a document term are both proportional to idf_j w_ij, so the paper
penalises the idf-weighted representation,

    FLOPS_idf(W) = sum_j ( 1/B sum_i idf_j |w_ij| )^2,

which is the form Shen et al. (2025) restate as their eq. for L_dFLOPS. The released training
code (opensearch-sparse-model-tuning-sample) instead puts idf into the matching function (the
query's idf-weighted bag of tokens scores the documents) and applies the plain FLOPS to the
unweighted document vectors. We implement the paper's formula, because it is the one whose
behaviour the paper's experiments and its l0 follow-up describe; the code's variant is our
plain :func:`flops` with idf query weights, which the inference-free model already has.
"""

from __future__ import annotations

import torch


def flops(weights: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``sum_j (mean_i |w_ij|)^2`` over the batch (rows); ``mask`` (batch,) keeps only some rows
    in the sum while the mean still divides by the whole batch (the l0 mask's convention)."""
    magnitudes = weights.abs()
    if mask is not None:
        magnitudes = magnitudes * mask.to(magnitudes.dtype).unsqueeze(1)
    return (magnitudes.sum(dim=0) / weights.shape[0]).pow(2).sum()


def idf_flops(
    weights: torch.Tensor, idf: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``sum_j (mean_i idf_j |w_ij|)^2``: FLOPS of the idf-weighted vectors (Geng et al. 2024)."""
    return flops(weights * idf.unsqueeze(0), mask)
