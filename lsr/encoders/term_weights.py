"""One weight per input token, pooled into the vocabulary: the encoders without expansion.

The unified framework of learned sparse retrieval (Nguyen, MacAvaney, Yates, "A Unified
Framework for Learned Sparse Retrieval", ECIR 2023, sec. 3) names two such encoders:

- **MLP** (uniCOIL, Lin and Ma 2021; DeepImpact, Mallia et al. 2021): a linear layer and a ReLU
  on each input token's last hidden state, ``s_i = ReLU(<h_i, w> + b)``;
- **binary**: every input token weighs 1 (or a per-token table, :mod:`lsr.train.models.bag_of_tokens`).

Either way a text's vector is ``w_j = max_{i : x_i = j} s_i`` over its non-special tokens: a
token that occurs twice keeps its larger weight (uniCOIL's max over repeats), and no term
outside the text gets a weight. :func:`pool_by_token` is that pooling, shared by the trainer's
modules and :class:`lsr.encoders.MlpEncoder`, so both compute the same vectors.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from lsr.atomic import atomic_path
from lsr.errors import ModelError

TERM_WEIGHTS_FILE = "term_weights.safetensors"


def pool_by_token(
    token_weights: torch.Tensor, input_ids: torch.Tensor, countable: torch.Tensor, vocab_size: int
) -> torch.Tensor:
    """``w_j = max_{i : input_ids_i = j, countable_i} token_weights_i``, shape (batch, vocabulary).

    ``token_weights`` (batch, length) must be >= 0 (after a ReLU), so the zeros the maximum
    starts from are the weight of a term the text lacks; positions not ``countable`` (padding,
    special tokens) count as 0. Differentiable: the gradient reaches the arg-max position.
    """
    weights = token_weights * countable.to(token_weights.dtype)
    out = weights.new_zeros(weights.shape[0], vocab_size)
    return out.scatter_reduce(1, input_ids, weights, reduce="amax", include_self=True)


def countable_tokens(vocab_size: int, special_ids: list[int]) -> torch.Tensor:
    """A (vocabulary,) bool table: False for special tokens ([CLS], [SEP], padding...)."""
    table = torch.ones(vocab_size, dtype=torch.bool)
    table[[i for i in special_ids if i < vocab_size]] = False
    return table


class TermWeighting(nn.Module):
    """uniCOIL's term weighting head: ``s_i = ReLU(<h_i, w> + b)`` on each token's state.

    Initialised to ``w = 0, b = 1``: before training every token weighs 1, the binary encoder,
    and the gradient reaches ``w`` through every token (a random start would put about half the
    tokens below the ReLU's threshold, where they get no gradient).
    """

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden_size, 1)
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.fill_(1.0)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(states.to(self.linear.weight.dtype))).squeeze(-1)

    def save(self, folder: str | os.PathLike) -> None:
        from safetensors.torch import save_file

        tensors = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        with atomic_path(Path(folder) / TERM_WEIGHTS_FILE) as tmp:
            save_file(tensors, str(tmp))

    @classmethod
    def load(cls, folder: str | os.PathLike) -> TermWeighting:
        from safetensors.torch import load_file

        path = Path(folder) / TERM_WEIGHTS_FILE
        if not path.is_file():
            raise ModelError(f"{path}: missing (an mlp encoder's term weighting head)")
        tensors = load_file(str(path))
        weight = tensors.get("linear.weight")
        if weight is None or weight.ndim != 2 or weight.shape[0] != 1:
            raise ModelError(f"{path}: expected a linear.weight of shape (1, hidden)")
        head = cls(weight.shape[1])
        head.load_state_dict(tensors)
        return head


def mlp_weights(
    backbone: nn.Module,
    head: TermWeighting,
    input_ids: torch.Tensor,
    mask: torch.Tensor,
    countable: torch.Tensor,
    vocab_size: int,
) -> torch.Tensor:
    """The MLP encoder's vectors (batch, vocabulary) of a padded batch: the backbone's last
    hidden states, the head's weight per token, pooled by token id."""
    states = backbone(input_ids=input_ids, attention_mask=mask).last_hidden_state
    return pool_by_token(head(states), input_ids, mask.bool() & countable[input_ids], vocab_size)
