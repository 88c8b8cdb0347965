"""Decoder backbones (Doshi et al., "Mistral-SPLADE", 2024) on a tiny random causal LM: ``lsr
train`` writes a folder ``lsr encode`` takes; LoRA trains only the adapters and the saved folder
(adapters merged) encodes as the trained model does."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT
from safetensors.torch import load_file
from tiny_training import tiny_config, write_beir_folder, write_pairs
from transformers import AutoModelForCausalLM

from lsr.encoders import SpladeEncoder, load
from lsr.train.batching import _tokenize
from lsr.train.data.pairs import load_pairs
from lsr.train.trainer import Trainer
from lsr.vector_io import read_vectors
from tests.encoders.tiny_models import build_tiny_decoder

LSR = [sys.executable, "-c", "from lsr.cli import main; main()"]
TEXTS = ["breast cancer risk in women", "gene", "a study of the mouse brain"]


def lsr(*args):
    return subprocess.run([*LSR, *map(str, args)], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    return build_tiny_decoder(tmp_path_factory.mktemp("llama"))


@pytest.mark.slow
def test_lsr_train_on_a_causal_lm_writes_a_folder_lsr_encode_takes(llama_dir, tmp_path):
    out = tmp_path / "run"
    done = lsr(
        "train", "--model", llama_dir, "--dataset", write_pairs(tmp_path), "--max-steps", 12,
        "--batch-size", 4, "--lr", "1e-3", "--query-max-length", 16, "--doc-max-length", 32,
        "--checkpoint-every", 12, "--output-dir", out, "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((out / "model" / "lsr.json").read_text())["options"]["echo"] is True
    encoded = lsr(
        "encode", "--model", out / "model", "--corpus", write_beir_folder(tmp_path / "beir"),
        "--out", tmp_path / "docs.parquet", "--no-progress",
    )  # fmt: skip
    assert encoded.returncode == 0, encoded.stderr[-3000:]
    documents = read_vectors(tmp_path / "docs.parquet")
    assert len(documents) == 12 and documents.nnz > 0


def test_lora_trains_only_the_adapters_and_saves_them_merged(llama_dir, tmp_path):
    config = tiny_config(
        tmp_path, model=str(llama_dir), lora_r=4, lora_alpha=8, max_steps=4, lr=1e-2
    ).validate()
    trainer = Trainer(config, load_pairs(config.dataset), progress=False)
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    folder = trainer.train()

    initial = AutoModelForCausalLM.from_pretrained(llama_dir).state_dict()
    frozen = {
        name.replace("document.mlm.base_model.model.", "").replace(".base_layer", ""): tensor
        for name, tensor in trainer.model.state_dict().items()
        if "lora_" not in name
    }
    for name, tensor in initial.items():
        assert torch.equal(frozen[name], tensor), name
    adapters = [p for n, p in trainer.model.named_parameters() if "lora_B" in n]
    assert any(p.abs().sum() > 0 for p in adapters)  # B starts at 0: the adapters learned

    assert "LoRA r 4 alpha 8 (merged into the weights)" in (folder / "README.md").read_text()
    saved = load_file(folder / "model.safetensors")
    assert not any("lora" in name for name in saved)
    query = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(saved[query], initial[query])  # the update is in the weights

    encoder = load(folder)
    assert isinstance(encoder, SpladeEncoder) and encoder.echo
    batch = _tokenize(trainer.tokenizer, TEXTS, config.doc_max_length)
    trainer.model.eval()
    with torch.no_grad():
        expected = trainer.model.encode_documents(batch["input_ids"], batch["attention_mask"])
    got = np.zeros(expected.shape, dtype=np.float32)
    vectors = encoder.encode_documents(TEXTS)
    for row in range(len(TEXTS)):
        terms, weights = vectors.row(row)
        got[row, terms] = weights
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-5)


def test_lora_with_gradient_checkpointing_gives_the_same_adapters(llama_dir, tmp_path):
    def adapters(out, checkpointing):
        config = tiny_config(
            tmp_path, model=str(llama_dir), lora_r=4, max_steps=2, lr=1e-2,
            output_dir=str(tmp_path / out), gradient_checkpointing=checkpointing,
        )  # fmt: skip
        trainer = Trainer(config, load_pairs(config.dataset), progress=False)
        trainer.train()
        return {n: p.detach() for n, p in trainer.model.named_parameters() if p.requires_grad}

    plain, recomputed = adapters("plain", False), adapters("recomputed", True)
    assert any(p.abs().sum() > 0 for n, p in plain.items() if "lora_B" in n)
    for name, tensor in plain.items():
        assert torch.allclose(recomputed[name], tensor, atol=1e-6), name
