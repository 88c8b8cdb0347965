"""A BERT masked LM's transformed states for one text, in plain torch calls.

A single query costs almost nothing to compute (splade-tiny: 2 layers of hidden size 128, ~20
tokens), yet through Hugging Face's modules it took 0.62 ms of CPU, most of it Python around
the arithmetic: about 50 module calls, configuration lookups, output dataclasses, the mask
checks and an ``inspect.signature`` per layer. :class:`BertStates` runs the same operations in
the same order on the same weights, so its states equal the modules' bit for bit (tested):

- embeddings: ``LayerNorm(word[t_i] + type[0] + position[i])`` (Devlin et al., "BERT", NAACL
  2019, sec. 3.2; one text, so every token type is 0);
- each layer (Vaswani et al., "Attention is all you need", NeurIPS 2017, sec. 3.2, eq. 1, post-LN
  as in BERT): ``a = LayerNorm(h + W_o Attention(W_q h, W_k h, W_v h))`` with scaled dot-product
  attention over all positions (one unpadded text needs no mask), then
  ``h' = LayerNorm(a + W_2 gelu(W_1 a))``;
- the MLM head's transform ``LayerNorm(gelu(W_t h))``, without the vocabulary projection, which
  :mod:`lsr.encoders.pooling` does.

Only a plain BERT masked LM qualifies (:meth:`BertStates.of` returns None otherwise: other
architectures, relative positions, decoders, other activations or attention implementations);
batches with padding keep the modules, whose mask handling this does not repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional

#: Attention implementations whose arithmetic is ``scaled_dot_product_attention``'s.
_SDPA = ("sdpa",)


@dataclass(frozen=True)
class _Norm:
    weight: torch.Tensor
    bias: torch.Tensor
    eps: float

    @classmethod
    def of(cls, module: torch.nn.LayerNorm) -> _Norm:
        return cls(module.weight, module.bias, module.eps)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return functional.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


@dataclass(frozen=True)
class _Dense:
    weight: torch.Tensor
    bias: torch.Tensor

    @classmethod
    def of(cls, module: torch.nn.Linear) -> _Dense:
        return cls(module.weight, module.bias)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return functional.linear(x, self.weight, self.bias)


@dataclass(frozen=True)
class _Layer:
    query: _Dense
    key: _Dense
    value: _Dense
    heads: int
    #: None: scaled_dot_product_attention's own 1 / sqrt(head size) (older transformers pass none).
    scaling: float | None
    attention_out: _Dense
    attention_norm: _Norm
    intermediate: _Dense
    out: _Dense
    out_norm: _Norm

    @classmethod
    def of(cls, layer: Any) -> _Layer:
        attention = layer.attention.self
        return cls(
            query=_Dense.of(attention.query),
            key=_Dense.of(attention.key),
            value=_Dense.of(attention.value),
            heads=attention.num_attention_heads,
            scaling=getattr(attention, "scaling", None),
            attention_out=_Dense.of(layer.attention.output.dense),
            attention_norm=_Norm.of(layer.attention.output.LayerNorm),
            intermediate=_Dense.of(layer.intermediate.dense),
            out=_Dense.of(layer.output.dense),
            out_norm=_Norm.of(layer.output.LayerNorm),
        )

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        batch, length, size = hidden.shape
        shape = (batch, length, self.heads, size // self.heads)
        q, k, v = (
            part(hidden).view(shape).transpose(1, 2) for part in (self.query, self.key, self.value)
        )
        attended = functional.scaled_dot_product_attention(
            q, k, v, attn_mask=None, dropout_p=0.0, scale=self.scaling, is_causal=False
        )
        attended = attended.transpose(1, 2).contiguous().reshape(batch, length, size)
        hidden = self.attention_norm(self.attention_out(attended) + hidden)
        expanded = functional.gelu(self.intermediate(hidden))
        return self.out_norm(self.out(expanded) + hidden)


@dataclass(frozen=True)
class BertStates:
    """``states(input_ids)``: the MLM transform's output (1, length, hidden) of one text."""

    word: torch.Tensor
    position: torch.Tensor
    token_type: torch.Tensor  # the embedding of token type 0
    embedding_norm: _Norm
    layers: tuple[_Layer, ...]
    transform: _Dense
    transform_norm: _Norm

    @classmethod
    def of(cls, model: torch.nn.Module) -> BertStates | None:
        """The plain-torch path of ``model`` (a ``BertForMaskedLM``), or None if it is not one
        whose computation this repeats exactly."""
        config = getattr(model, "config", None)
        if type(model).__name__ != "BertForMaskedLM" or config is None:
            return None
        plain = (
            getattr(config, "position_embedding_type", "absolute") == "absolute"
            and not config.is_decoder
            and not getattr(config, "add_cross_attention", False)
            and config.hidden_act == "gelu"
            and getattr(config, "_attn_implementation", None) in _SDPA
            and not getattr(config, "chunk_size_feed_forward", 0)
        )
        if not plain:
            return None
        bert, head = model.bert, model.cls.predictions.transform
        embeddings = bert.embeddings
        return cls(
            word=embeddings.word_embeddings.weight,
            position=embeddings.position_embeddings.weight,
            token_type=embeddings.token_type_embeddings.weight[0],
            embedding_norm=_Norm.of(embeddings.LayerNorm),
            layers=tuple(_Layer.of(layer) for layer in bert.encoder.layer),
            transform=_Dense.of(head.dense),
            transform_norm=_Norm.of(head.LayerNorm),
        )

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[1]
        hidden = functional.embedding(input_ids, self.word) + self.token_type
        hidden = self.embedding_norm(hidden + self.position[:length])
        for layer in self.layers:
            hidden = layer(hidden)
        return self.transform_norm(functional.gelu(self.transform(hidden)))
