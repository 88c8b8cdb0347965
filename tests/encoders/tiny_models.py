"""A tiny random BERT masked LM with a small word-piece vocabulary, for the encoder tests.

Built here rather than downloaded so that the encoder tests run anywhere, in seconds.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertModel,
    BertTokenizer,
    DistilBertConfig,
    DistilBertForMaskedLM,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    RobertaConfig,
    RobertaForMaskedLM,
)

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "what causes breast cancer in women the a of and is to tumor cell cells gene protein risk "
    "study patients disease treatment effect effects blood heart brain mouse human high low "
    "increase decrease"
).split()
PIECES = ["##s", "##ing", "##ed", "##er"]
VOCABULARY = SPECIAL + WORDS + PIECES + list("abcdefghijklmnopqrstuvwxyz")


def _tokenizer():
    return BertTokenizer(vocab={token: i for i, token in enumerate(VOCABULARY)})


def _config() -> BertConfig:
    return BertConfig(
        vocab_size=len(VOCABULARY),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )


def build_tiny_bert(folder: Path) -> Path:
    """Save a random BertForMaskedLM + tokenizer (Hugging Face layout, no lsr.json) in folder."""
    torch.manual_seed(0)
    model = BertForMaskedLM(_config()).eval()
    # Random init gives mostly negative logits; a positive bias makes SPLADE vectors non-trivial.
    with torch.no_grad():
        model.cls.predictions.decoder.bias.normal_(0.5, 1.0)
    model.save_pretrained(folder)
    _tokenizer().save_pretrained(folder)
    return folder


def build_other_mlm(folder: Path, kind: str) -> Path:
    """A random DistilBERT or RoBERTa masked LM (their MLM heads differ from BERT's), saved with
    the word-piece tokenizer: the ids are what matter to the encoder, not how they were cut."""
    torch.manual_seed(0)
    if kind == "distilbert":
        config = DistilBertConfig(
            vocab_size=len(VOCABULARY), dim=16, n_layers=2, n_heads=2, hidden_dim=32
        )
        model = DistilBertForMaskedLM(config).eval()
    else:
        config = RobertaConfig(
            vocab_size=len(VOCABULARY),
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=72,
            pad_token_id=0,
        )
        model = RobertaForMaskedLM(config).eval()
    with torch.no_grad():
        model.get_output_embeddings().bias.normal_(0.5, 1.0)
    model.save_pretrained(folder)
    _tokenizer().save_pretrained(folder)
    return folder


def build_headless_bert(folder: Path) -> Path:
    """Save a BertModel without the masked-LM head (like a sentence-transformers model)."""
    torch.manual_seed(0)
    BertModel(_config()).save_pretrained(folder)
    _tokenizer().save_pretrained(folder)
    return folder


def build_tiny_decoder(folder: Path, kind: str = "llama") -> Path:
    """A random 2-layer causal LM (Llama or GPT-2, hidden 32) over the same word-piece vocabulary,
    saved with its tokenizer: a decoder backbone (Mistral-SPLADE) in miniature. 256 positions:
    the echo input doubles a text's length."""
    torch.manual_seed(0)
    if kind == "llama":
        config = LlamaConfig(
            vocab_size=len(VOCABULARY),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=256,
            pad_token_id=0,
        )
        model = LlamaForCausalLM(config).eval()
    else:
        config = GPT2Config(
            vocab_size=len(VOCABULARY), n_embd=32, n_layer=2, n_head=2, n_positions=256
        )
        model = GPT2LMHeadModel(config).eval()
    model.save_pretrained(folder)
    _tokenizer().save_pretrained(folder)
    return folder
