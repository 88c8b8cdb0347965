"""The MLP term-weighting encoder (uniCOIL / DeepImpact style, no expansion), trainable.

Nguyen, MacAvaney, Yates ("A Unified Framework for Learned Sparse Retrieval", ECIR 2023) call
this encoder "MLP": ``w_j = max_{i : x_i = j} ReLU(<h_i, w> + b)`` over the text's non-special
tokens, ``h_i`` the backbone's last hidden state. The computation is
:func:`lsr.encoders.term_weights.mlp_weights`, the very function :class:`lsr.encoders.MlpEncoder`
encodes with, so a saved model gives the vectors it was trained on.
"""

from __future__ import annotations

import torch
from torch import nn

from lsr.encoders.term_weights import TermWeighting, countable_tokens, mlp_weights


def transformer_body(lm: nn.Module) -> nn.Module:
    """The transformer under a language model's head (``BertForMaskedLM.bert``...), through a
    LoRA wrapper when there is one (its adapters live inside the body)."""
    model = lm.get_base_model() if hasattr(lm, "get_base_model") else lm
    return model.base_model


class MlpEncoder(nn.Module):
    """Token ids and attention mask in, (batch, vocabulary) non-negative weights out.

    ``lm`` is the whole language model (so that the query side can share it with an MLM document
    side, and a LoRA wrapper can be merged on save); only its body runs here.
    """

    def __init__(self, lm: nn.Module, special_ids: list[int]) -> None:
        super().__init__()
        self.lm = lm
        self.head = TermWeighting(lm.config.hidden_size)
        vocab = transformer_body(lm).get_input_embeddings().num_embeddings
        self.register_buffer("countable", countable_tokens(vocab, special_ids), persistent=False)

    @property
    def vocab_size(self) -> int:
        return self.countable.shape[0]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        body = transformer_body(self.lm)
        return mlp_weights(
            body, self.head, input_ids, attention_mask, self.countable, self.vocab_size
        )
