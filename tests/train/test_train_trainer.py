"""The trainer end to end on a tiny random BERT: exact resume after a real kill (negatives
re-mined by the model being trained included), collapse detection, every encoder combination saving a folder that lsr.encoders.load reads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file
from tiny_training import tiny_config, write_beir_folder

from lsr.datasets import load_dataset
from lsr.encoders import InferenceFreeEncoder, SpladeEncoder, load
from lsr.errors import InputError
from lsr.train.checkpoint import checkpoints
from lsr.train.collapse import TrainingCollapse
from lsr.train.config import TrainConfig
from lsr.train.data.corpus import Corpus
from lsr.train.data.negatives import NegativeMiner, add_hard_negatives
from lsr.train.data.pairs import load_pairs
from lsr.train.models.bi_encoder import save_model
from lsr.train.run import corpus_idf, train
from lsr.train.trainer import Trainer

# bf16 keeps 8 bits of mantissa (relative error up to 2^-8 = 3.9e-3 per rounding); the tiny
# model's first loss moved by 1.2e-4 relative (measured), the bound leaves room for other CPUs
BF16_LOSS_TOLERANCE = 5e-3


def weights_of(model_folder):
    return load_file(model_folder / "model.safetensors")


KILLED_RUN = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from tiny_training import tiny_config, write_beir_folder
from lsr.train.data.pairs import load_pairs
from lsr.train.run import corpus_idf, train

def kill_at_half(trainer, step):
    if step == 4:
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no finally: a real kill

train(tiny_config(__import__("pathlib").Path({folder!r}), output_dir={out!r}, max_steps=8,
      checkpoint_every=2, **{keys!r}), progress=False, on_checkpoint=kill_at_half)
"""


def refreshing(tmp_path, monkeypatch) -> dict:
    """Negatives mined with the model being trained, re-mined every 3 steps: a run killed
    after step 4 holds negatives of the model of step 3, which no checkpoint has."""
    monkeypatch.setenv("LSR_CACHE", str(tmp_path / "cache"))
    corpus = write_beir_folder(tmp_path / "beir")
    return dict(
        hard_negatives="model", n_negatives=2, refresh_negatives_every=3, corpus=str(corpus)
    )


@pytest.mark.parametrize("refresh", [False, True], ids=["plain", "refreshed-negatives"])
def test_resume_after_a_kill_gives_the_weights_of_a_straight_run(tmp_path, monkeypatch, refresh):
    keys = refreshing(tmp_path, monkeypatch) if refresh else {}
    straight = train(
        tiny_config(tmp_path, output_dir=str(tmp_path / "straight"), max_steps=8, **keys),
        progress=False,
    )
    out = tmp_path / "killed"
    script = KILLED_RUN.format(
        tests=str(__import__("pathlib").Path(__file__).parent),
        folder=str(tmp_path),
        out=str(out),
        keys=keys,
    )
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True)
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    assert [p.name for p in checkpoints(out / "checkpoints")] == ["step-0000002", "step-0000004"]
    assert not (out / "model").exists()
    resumed = train(
        tiny_config(tmp_path, output_dir=str(out), max_steps=8, checkpoint_every=2, **keys),
        resume=True,
        progress=False,
    )
    expected, got = weights_of(straight), weights_of(resumed)
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.allclose(expected[name], got[name], atol=1e-6), name
    steps = [
        json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()
    ]
    assert steps == list(range(1, 9))


def test_refreshed_negatives_are_mined_by_the_model_of_that_step(tmp_path, monkeypatch):
    keys = refreshing(tmp_path, monkeypatch)
    config = tiny_config(tmp_path, max_steps=4, checkpoint_every=1, **{**keys, "seed": 7})
    expected, seen = {}, {}

    def reference_and_look(trainer, step):
        # the reference for step 3's refresh: the model after 3 steps, saved and loaded as lsr
        # encode would, mining the plain pairs by the plain functions, seeded by (seed, 3)
        if step == 3:
            folder = tmp_path / "at-3"
            save_model(trainer.model, trainer.tokenizer, config, folder)
            docs = list(load_dataset(keys["corpus"]).docs())
            corpus = Corpus.of([d.id for d in docs], [d.full_text for d in docs])
            miner = NegativeMiner(corpus, load(folder), config.negatives_depth)
            expected["examples"] = add_hard_negatives(
                load_pairs(config.dataset), miner, config.n_negatives, seed=(7, 3)
            )
            seen["before"] = list(trainer.examples)
        if step == 4:
            seen["after"] = list(trainer.examples)

    train(config, progress=False, on_checkpoint=reference_and_look)
    assert seen["after"] == expected["examples"]
    assert seen["after"] != seen["before"]  # mined at step 0 by the initial model, then again


def test_refreshing_needs_negatives_mined_by_the_model():
    with pytest.raises(InputError, match=r"^refresh_negatives_every: .*--hard-negatives model"):
        TrainConfig(
            model="m", dataset="d", hard_negatives="bm25", refresh_negatives_every=5
        ).validate()
    with pytest.raises(InputError, match=r"^refresh_negatives_every: loss kl needs teacher"):
        TrainConfig(
            model="m", dataset="d", hard_negatives="model", refresh_negatives_every=5, loss="kl"
        ).validate()


def test_documents_collapsing_to_empty_stop_the_run_naming_lambda_d(tmp_path):
    config = tiny_config(
        tmp_path, lambda_d=1e4, lr=3e-2, max_steps=40, collapse_patience=2, warmup_ratio=0.0
    )
    with pytest.raises(TrainingCollapse, match=r"documents vectors are empty.*lower lambda_d"):
        train(config, progress=False)


def test_exploding_documents_stop_the_run_naming_lambda_d(tmp_path):
    with pytest.raises(TrainingCollapse, match="raise lambda_d"):
        train(tiny_config(tmp_path, max_mean_nnz=1.0, collapse_patience=1), progress=False)


def test_siamese_model_loads_as_a_splade_encoder(tmp_path):
    folder = train(tiny_config(tmp_path, activation="l0"), progress=False)
    encoder = load(folder)
    assert isinstance(encoder, SpladeEncoder)
    assert encoder.activation == "l0"
    assert encoder.encode_queries(["breast cancer"]).nnz > 0
    assert "lambda_d 0.001" in (folder / "README.md").read_text()


def test_inference_free_model_with_learned_query_weights(tmp_path):
    config = tiny_config(
        tmp_path,
        query_encoder="idf",
        learn_query_weights=True,
        doc_regularizer="idf-flops",
        l0_threshold=2,
        query_regularizer="l1",
    )
    folder = train(config, progress=False)
    encoder = load(folder)
    assert isinstance(encoder, InferenceFreeEncoder)
    initial = corpus_idf(config, load_pairs(config.dataset))
    assert encoder.encode_queries(["breast cancer"]).nnz == 2
    assert not torch.allclose(torch.from_numpy(encoder.idf), initial)


def test_kl_distillation_and_gradient_accumulation_run(tmp_path):
    config = tiny_config(tmp_path, loss="kl", grad_accumulation=2, max_steps=2)
    train(config, progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").open()]
    assert [r["step"] for r in records] == [1, 2]
    assert all(r["ranking"] >= 0 for r in records)


def test_dev_evaluation_keeps_the_best_model_and_reports_it(tmp_path):
    dev = write_beir_folder(tmp_path / "dev")
    config = tiny_config(tmp_path, eval_dataset=str(dev), eval_every=3, max_steps=6)
    folder = train(config, progress=False)
    card = (folder / "README.md").read_text()
    rows = [line.split("|") for line in card.splitlines() if line.startswith(("| 3 |", "| 6 |"))]
    assert len(rows) == 2  # evaluated at steps 3 and 6, not again at the end
    best_step = int(max(rows, key=lambda row: float(row[2]))[1])
    at_best = torch.load(
        tmp_path / "run" / "checkpoints" / f"step-{best_step:07d}" / "state.pt",
        weights_only=False,
    )["model"]
    best = weights_of(tmp_path / "run" / "best-model")
    for name, tensor in best.items():
        assert torch.equal(tensor, at_best[f"document.mlm.{name}"]), name


def test_gradient_checkpointing_gives_the_same_weights(tmp_path):
    plain = train(
        tiny_config(tmp_path, output_dir=str(tmp_path / "a"), max_steps=2), progress=False
    )
    recomputed = train(
        tiny_config(
            tmp_path, output_dir=str(tmp_path / "b"), max_steps=2, gradient_checkpointing=True
        ),
        progress=False,
    )
    expected, got = weights_of(plain), weights_of(recomputed)
    for name in expected:
        assert torch.allclose(expected[name], got[name], atol=1e-6), name


def test_a_bf16_step_s_loss_is_close_to_the_float32_step_s(tmp_path):
    """Same weights, batch and dropout masks (one seed): only the precision differs."""
    losses = {}
    for precision in ("fp32", "bf16"):
        config = tiny_config(tmp_path, precision=precision, output_dir=str(tmp_path / precision))
        trainer = Trainer(config, load_pairs(config.dataset), progress=False)
        losses[precision] = trainer._optimizer_step()["loss"]
    assert losses["bf16"] != losses["fp32"]  # the bf16 run did run in bf16
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=BF16_LOSS_TOLERANCE)
