"""The MLP encoder (uniCOIL / DeepImpact style term weighting, no expansion) for encoding.

A model folder of kind ``mlp`` holds the transformer backbone (Hugging Face layout, read with
``AutoModel``: a masked-LM checkpoint's head is ignored), its tokenizer, ``lsr.json`` and
``term_weights.safetensors``, the linear layer that weighs each token
(:mod:`lsr.encoders.term_weights`, which gives the formula). ``lsr train --doc-encoder mlp``
writes such folders.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

from lsr.encoders.pooling import prune
from lsr.encoders.term_weights import TermWeighting, countable_tokens, mlp_weights
from lsr.encoders.transformer import TransformerEncoder, load_pretrained


class MlpEncoder(TransformerEncoder):
    """Each input token's state weighed by a linear layer + ReLU, max over repeats of a token."""

    kind = "mlp"

    def __init__(
        self, model: torch.nn.Module, tokenizer: Any, head: TermWeighting, **options: Any
    ) -> None:
        vocab_size = model.get_input_embeddings().num_embeddings
        super().__init__(model, tokenizer, vocab_size, **options)
        self.head = head.to(self.device).eval()
        self.countable = countable_tokens(vocab_size, tokenizer.all_special_ids).to(self.device)

    @classmethod
    def load(cls, path_or_id: str | os.PathLike, **options: Any) -> MlpEncoder:
        from transformers import AutoModel

        model, tokenizer, _ = load_pretrained(path_or_id, AutoModel, "transformer")
        head = TermWeighting.load(path_or_id)
        return cls(model, tokenizer, head, name=str(path_or_id), **options)

    def save(self, path: str | os.PathLike) -> None:
        super().save(path)
        self.head.save(path)

    def weights(self, token_ids: Sequence[Sequence[int]]) -> torch.Tensor:
        input_ids, mask = self.padded(token_ids)
        with torch.inference_mode():
            weights = mlp_weights(
                self.model, self.head, input_ids, mask, self.countable, self.vocab_size
            )
            return prune(weights, self.top_k, self.threshold)
