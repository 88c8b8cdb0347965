"""A query encoder and a document encoder, chosen per side as in the unified framework (Nguyen,
MacAvaney, Yates, ECIR 2023): ``mlm`` (SPLADE expansion), ``mlp`` (uniCOIL-style term weighting,
no expansion), ``binary`` (token presence: no model, on either side) or, for queries, ``idf``
(inference-free: presence weighted by idf, Geng et al. 2024).

The model sides (mlm, mlp) run on one backbone unless ``separate_encoders`` gives the query side
its own copy: the same kind on both sides is then one module (siamese SPLADE, siamese uniCOIL),
and an MLP query side over an MLM document side shares the transformer and adds only its
term-weighting head. A ``binary`` or ``idf`` query side costs a table lookup.

The backbone is a masked LM, or a causal LM read with the echo input (Doshi et al.,
"Mistral-SPLADE", 2024; :mod:`lsr.encoders.echo`); ``lora_r`` trains LoRA adapters instead of its
weights, merged into the saved model so that the folder loads as any other.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from lsr.encoders import BinaryEncoder, InferenceFreeEncoder, PerSideEncoder, SpladeEncoder
from lsr.encoders import MlpEncoder as MlpInference
from lsr.encoders.splade import load_language_model
from lsr.encoders.transformer import TransformerEncoder
from lsr.errors import InputError
from lsr.train.config import TrainConfig
from lsr.train.models.bag_of_tokens import BagOfTokens
from lsr.train.models.mlm import MlmEncoder
from lsr.train.models.mlp import MlpEncoder, transformer_body

# the encoders that run a transformer (the others are a table over the tokens)
MODEL_SIDES = ("mlm", "mlp")


class BiEncoder(nn.Module):
    def __init__(self, query: nn.Module, document: nn.Module) -> None:
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
    lm, tokenizer, causal = load_language_model(config.model)
    lm.train()
    if config.gradient_checkpointing:
        # transformers 5 renamed it; older releases only have the first name
        enable = getattr(lm, "activation_checkpointing_enable", lm.gradient_checkpointing_enable)
        enable()
    if config.lora_r:
        lm = with_lora(lm, config)
    special = list(tokenizer.all_special_ids)
    vocab_size = lm.get_input_embeddings().num_embeddings

    def side(kind: str, model: nn.Module) -> nn.Module:
        if kind == "mlm":
            return MlmEncoder(model, config.activation, echo=causal)
        if kind == "mlp":
            return MlpEncoder(model, special)
        return BagOfTokens(torch.ones(vocab_size), special, learned=False)  # binary documents

    document = side(config.doc_encoder, lm)
    if config.query_encoder in MODEL_SIDES:
        if config.separate_encoders:
            return BiEncoder(side(config.query_encoder, copy.deepcopy(lm)), document), tokenizer
        if config.query_encoder == config.doc_encoder:
            return BiEncoder(document, document), tokenizer
        return BiEncoder(side(config.query_encoder, lm), document), tokenizer
    weights = torch.ones(document.vocab_size) if config.query_encoder == "binary" else idf
    query = BagOfTokens(weights, special, config.learn_query_weights)
    return BiEncoder(query, document), tokenizer


def with_lora(lm: nn.Module, config: TrainConfig) -> nn.Module:
    """``lm`` with LoRA adapters (Hu et al., "LoRA: Low-Rank Adaptation of Large Language
    Models", ICLR 2022: ``W + (alpha / r) B A``, B initialised to 0) on the modules peft targets
    for its architecture; every other weight frozen, the vocabulary head included."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise InputError("lora_r: LoRA needs peft (pip install 'lsr[lora]')") from None
    try:
        return get_peft_model(lm, LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha))
    except ValueError as exc:
        raise InputError(f"lora_r: peft cannot add adapters to {config.model} ({exc})") from None


def merged(lm: nn.Module) -> nn.Module:
    """A plain Hugging Face model with the LoRA adapters folded into its weights (a copy: the
    model being trained keeps its adapters); ``lm`` itself when it has none."""
    if not hasattr(lm, "merge_and_unload"):
        return lm
    return copy.deepcopy(lm).merge_and_unload()


def save_model(
    model: BiEncoder, tokenizer: Any, config: TrainConfig, path: str | os.PathLike
) -> None:
    """Write the model folder ``lsr encode`` and ``lsr eval`` load: HF layout + ``lsr.json``.

    Siamese models save as the ``splade`` or ``mlp`` encoder kind; a table query side as
    ``inference-free``, with the (possibly learned) per-token query weights as its ``idf.json``
    table; two model sides, or a model query side over binary documents, as ``per-side``
    (``query/`` and ``document/`` subfolders, :mod:`lsr.encoders.per_side`).
    """
    documents = inference_encoder(model.document, tokenizer, config)
    if model.query is None:
        documents.save(path)
    elif isinstance(model.query, BagOfTokens):
        weights = torch.relu(model.query.weight.detach()).cpu().numpy().astype(np.float32)
        weights[list(tokenizer.all_special_ids)] = 0
        formula = "learned" if config.learn_query_weights else config.query_encoder
        InferenceFreeEncoder(documents, weights, formula).save(path)
    else:
        queries = inference_encoder(model.query, tokenizer, config)
        PerSideEncoder(queries, documents).save(path)


def inference_encoder(
    side: nn.Module, tokenizer: Any, config: TrainConfig
) -> TransformerEncoder | BinaryEncoder:
    """The :mod:`lsr.encoders` encoder of a trained model side, sharing its weights (it puts
    the modules in eval mode; the trainer sets train mode again at each step); LoRA adapters
    merged, so the folder loads without peft."""
    options = {
        "query_max_length": config.query_max_length,
        "document_max_length": config.doc_max_length,
        "name": config.model,
    }
    if isinstance(side, BagOfTokens):  # binary documents
        return BinaryEncoder(tokenizer, side.vocab_size, **options)
    if isinstance(side, MlmEncoder):
        return SpladeEncoder(
            merged(side.mlm), tokenizer, activation=config.activation, echo=side.echo, **options
        )
    return MlpInference(transformer_body(merged(side.lm)), tokenizer, side.head, **options)
