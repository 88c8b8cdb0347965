"""Query encoders without a model: a query is its distinct tokens, each with a per-token weight.

- ``binary`` (Nguyen et al., "A Unified Framework for Learned Sparse Retrieval", ECIR 2023):
  weight 1 for every token present; with an MLM document encoder this is SPLADE-doc.
- inference-free (Geng et al. 2024, :class:`lsr.encoders.InferenceFreeEncoder`): weight idf_j,
  the table initialised from the corpus' idf and optionally learned (Nardini et al., "Effective
  Inference-Free Retrieval for Learned Sparse Representations", SIGIR 2025, learn one score per
  token) at its own learning rate.

Special tokens ([CLS], [SEP], padding) never count; a token repeated in the query counts once.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from lsr.encoders.term_weights import countable_tokens, pool_by_token


class BagOfTokens(nn.Module):
    """``w_j = weight_j * 1[token j in the query]``; ``weight`` learned when ``learned``."""

    def __init__(self, weights: torch.Tensor, special_ids: Iterable[int], learned: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(weights.float().clone(), requires_grad=learned)
        countable = countable_tokens(len(weights), list(special_ids))
        self.register_buffer("countable", countable, persistent=False)

    @property
    def vocab_size(self) -> int:
        return self.weight.shape[0]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # ReLU keeps a learned weight from going negative (a sparse vector's weights are > 0);
        # every occurrence of a token has the same weight, so the max over repeats is that weight
        token_weights = torch.relu(self.weight)[input_ids]
        countable = attention_mask.bool() & self.countable[input_ids]
        return pool_by_token(token_weights, input_ids, countable, self.vocab_size)
