"""A query encoder and a document encoder, chosen per side as in the unified framework (Nguyen,
MacAvaney, Yates, ECIR 2023): ``mlm`` (SPLADE expansion), ``binary`` (token presence) or
``idf`` (inference-free: presence weighted by idf, Geng et al. 2024). With ``mlm`` on both sides
the two sides share one model (siamese SPLADE); otherwise the document side is an MLM and the
query side costs a table lookup.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import nn

from lsr.encoders import InferenceFreeEncoder, SpladeEncoder
from lsr.encoders.splade import load_masked_lm
from lsr.train.config import TrainConfig
from lsr.train.models.bag_of_tokens import BagOfTokens
from lsr.train.models.mlm import MlmEncoder


class BiEncoder(nn.Module):
    def __init__(self, query: nn.Module, document: MlmEncoder) -> None:
        super().__init__()
        self.document = document
        # siamese: the same module on both sides, registered once
        self.query = None if query is document else query

    def encode_queries(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return (self.query or self.document)(input_ids, attention_mask)

    def encode_documents(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        return self.document(input_ids, attention_mask)

    def query_weight_parameters(self) -> list[nn.Parameter]:
        """The per-token query weights (learned at their own rate), if any."""
        return [self.query.weight] if isinstance(self.query, BagOfTokens) else []


def build_model(config: TrainConfig, idf: torch.Tensor | None) -> tuple[BiEncoder, Any]:
    """The configured bi-encoder over ``config.model``, and its tokenizer."""
    mlm, tokenizer = load_masked_lm(config.model)
    mlm.train()
    if config.gradient_checkpointing:
        # transformers 5 renamed it; older releases only have the first name
        enable = getattr(mlm, "activation_checkpointing_enable", mlm.gradient_checkpointing_enable)
        enable()
    document = MlmEncoder(mlm, config.activation)
    if config.query_encoder == "mlm":
        return BiEncoder(document, document), tokenizer
    weights = torch.ones(document.vocab_size) if config.query_encoder == "binary" else idf
    query = BagOfTokens(weights, tokenizer.all_special_ids, config.learn_query_weights)
    return BiEncoder(query, document), tokenizer


def save_model(
    model: BiEncoder, tokenizer: Any, config: TrainConfig, path: str | os.PathLike
) -> None:
    """Write the model folder ``lsr encode`` and ``lsr eval`` load: HF layout + ``lsr.json``.

    Siamese models save as the ``splade`` encoder kind, the others as ``inference-free`` with the
    (possibly learned) per-token query weights as its ``idf.json`` table.
    """
    documents = SpladeEncoder(
        model.document.mlm,
        tokenizer,
        query_max_length=config.query_max_length,
        document_max_length=config.doc_max_length,
        activation=config.activation,
        name=config.model,
    )
    if model.query is None:
        documents.save(path)
    else:
        weights = torch.relu(model.query.weight.detach()).cpu().numpy().astype(np.float32)
        weights[list(tokenizer.all_special_ids)] = 0
        formula = "learned" if config.learn_query_weights else config.query_encoder
        InferenceFreeEncoder(documents, weights, formula).save(path)
    model.document.mlm.train()  # the encoder put it in eval mode
