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


class BagOfTokens(nn.Module):
    """``w_j = weight_j * 1[token j in the query]``; ``weight`` learned when ``learned``."""

    def __init__(self, weights: torch.Tensor, special_ids: Iterable[int], learned: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(weights.float().clone(), requires_grad=learned)
        present = torch.ones(len(weights), dtype=torch.bool)
        present[list(special_ids)] = False
        self.register_buffer("countable", present, persistent=False)

    @property
    def vocab_size(self) -> int:
        return self.weight.shape[0]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        presence = torch.zeros(
            input_ids.shape[0], self.vocab_size, dtype=torch.float32, device=input_ids.device
        )
        presence.scatter_add_(1, input_ids, attention_mask.float())
        presence = (presence > 0) & self.countable
        # ReLU keeps a learned weight from going negative (a sparse vector's weights are > 0)
        return presence * torch.relu(self.weight)
