"""L1 regularizer, the query-side penalty of SPLADE-doc-style and unified-framework models
(Nguyen, MacAvaney, Yates, "A Unified Framework for Learned Sparse Retrieval", ECIR 2023, sec. 3):

    L1(W) = 1/B sum_i sum_j |w_ij|

the mean l1 norm of a text's vector. Unlike FLOPS it does not care which texts share a term, so
it shortens each query without favouring rare terms: a query's cost at search time is the number
of its terms, not how the batch spreads them.
"""

from __future__ import annotations

import torch


def l1(weights: torch.Tensor) -> torch.Tensor:
    """The mean over rows of each row's l1 norm."""
    return weights.abs().sum(dim=1).mean()
