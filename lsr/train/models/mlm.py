"""The MLM-expansion encoder (SPLADE): a masked LM whose pooled vocabulary logits are the vector.

Nguyen, MacAvaney, Yates ("A Unified Framework for Learned Sparse Retrieval", ECIR 2023) call this
encoder "MLM": every vocabulary term can get a weight (expansion), ``w_j = act(max_i logit_ij)``.
The backbone runs with its vocabulary projection detached (as :class:`lsr.encoders.SpladeEncoder`
does), and :func:`lsr.train.models.pooling.pooled_logits` does the projection, the max and its
backward without the (batch x length x vocabulary) logits. A causal LM (Mistral-SPLADE, Doshi et
al. 2024) reads each text twice and is pooled over the second copy (:mod:`lsr.encoders.echo`).
"""

from __future__ import annotations

import torch
from torch import nn

from lsr.encoders.echo import echo_inputs, second_copy
from lsr.encoders.pooling import ACTIVATIONS, chunk_for
from lsr.encoders.splade import _decoder_slot, _detached
from lsr.train.models.pooling import pooled_logits


class MlmEncoder(nn.Module):
    """Token ids and attention mask in, (batch, vocabulary) non-negative weights out."""

    def __init__(
        self,
        mlm: nn.Module,
        activation: str = "splade",
        chunk: int | None = None,
        echo: bool = False,
    ) -> None:
        super().__init__()
        self.mlm = mlm
        self.echo = echo
        self.activation = activation
        self.act = ACTIVATIONS[activation]
        self.chunk = chunk
        self._slot = _decoder_slot(mlm)

    @property
    def vocab_size(self) -> int:
        return getattr(*self._slot).weight.shape[0]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        decoder = getattr(*self._slot)
        model_ids, model_mask = (
            echo_inputs(input_ids, attention_mask) if self.echo else (input_ids, attention_mask)
        )
        with _detached(self._slot):
            states = self.mlm(input_ids=model_ids, attention_mask=model_mask).logits
        if self.echo:
            states = second_copy(states, attention_mask)
        bias = decoder.bias if decoder.bias is not None else decoder.weight.new_zeros(1)
        # under bf16 autocast the backbone's states are bf16; the projection stays in the weights' dtype
        states = states.to(decoder.weight.dtype)
        # None: the encoder's block width for this many tokens (wide blocks for short queries)
        chunk = self.chunk or chunk_for(attention_mask.numel())
        logits = pooled_logits(states, attention_mask, decoder.weight, bias, chunk)
        return self.act(logits)
