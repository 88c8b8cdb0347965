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
Learned Sparse Retrievers", arXiv 2411.04403). What could be read here, and what could not:

- The paper's body (its section on the loss and its equation) could not be read: the search
  tool returns the beginning of each stored page, and every stored copy found
  (huggingface.co/papers/2411.04403 and its Markdown rendering of arxiv.org/html/2411.04403, an
  arxiv.org/abs mirror, researchtrend.ai, arxivlens, rohan-paul.com, awesomepapers.io) gives the
  abstract only; searches of the ``pages``, ``docs`` and ``code`` corpora for the loss's name,
  its equation, its authors and OpenSearch's blog posts and model cards found no other text.
- The abstract, v1: the loss "introduces Inverted Document Frequency (IDF) to the
  sparsification of representations"; later versions: "an IDF-aware penalty for the matching
  function that suppresses the contribution of low-IDF tokens".
- Shen, Geng, Yang, "Exploring l0 Sparsification for Inference-free Sparse Retrievers" (SIGIR
  2025, arXiv 2504.14839), as a review of it (themoonlight.io) quotes its masked loss:
  ``L = sum_j ( 1/N sum_i M(d_i) w(d_i)_j IDF_j )^2``, i.e. IDF inside the FLOPS.
- The authors' released code (opensearch-sparse-model-tuning-sample, ``scripts/train/
  trainer.py`` ``flops_value`` and ``scripts/model/sparse_encoders.py``) differs: it applies the
  plain FLOPS to the unweighted document vectors (with the l0 mask when a threshold is set) and
  puts IDF into the matching function only, the query being its tokens times ``relu(idf)``.
- A development version of sentence-transformers' ``IDFFlopsLoss``, citing 2411.04403v1, divides
  the document vectors by IDF before the FLOPS: a third reading.

We keep the restated formula,

    FLOPS_idf(W) = sum_j ( 1/B sum_i idf_j |w_ij| )^2,

because it is the only written form of the paper's loss found here. What each reading does, in
terms of a token's contribution to the score ``c_ij = idf_j w_ij`` (queries weighted by idf):
the restated form is plain FLOPS of the contributions, ``sum_j (mean_i c_ij)^2``, so a
contribution costs the same whatever its token's idf (common tokens still pay most, as in any
FLOPS, because many documents of a batch use them); the released code's form is
``sum_j (mean_i c_ij / idf_j)^2``, a low-idf token's contribution costing 1/idf_j^2 more, which
is the abstract's "suppresses the contribution of low-IDF tokens". That variant needs no code of
its own: it is :func:`flops` on documents with ``--query-encoder idf``, which is how the
sweep (``benchmarks/train_sweep.py``) runs it beside this one.
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
