"""``lsr train`` from a YAML file and flags, on splade-tiny and SciFact, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, SHARED_DATA, SPLADE_TINY, requires_shared

from lsr.vector_io import read_vectors

LSR = [sys.executable, "-c", "from lsr.cli import main; main()"]


def lsr(*args):
    return subprocess.run([*LSR, *map(str, args)], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.slow
@requires_shared
def test_a_20_step_run_from_flags_writes_a_folder_lsr_encode_takes(tmp_path):
    config = tmp_path / "run.yaml"
    # the YAML asks for 3 steps and a batch of 8; the flags override both
    config.write_text(f"model: {SPLADE_TINY}\ndataset: scifact\nmax_steps: 3\nbatch-size: 8\n")
    out = tmp_path / "run"
    done = lsr(
        "train", config, "--max-steps", 20, "--batch-size", 4, "--query-max-length", 16,
        "--doc-max-length", 48, "--checkpoint-every", 10, "--output-dir", out,
        "--data-dir", SHARED_DATA, "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == f"model: {out / 'model'}"
    records = [json.loads(line) for line in (out / "train_log.jsonl").open()]
    assert [r["step"] for r in records] == list(range(1, 21))
    assert {"ranking", "reg_q", "reg_d", "q_nnz", "d_nnz", "q_flops", "d_flops"} <= records[
        0
    ].keys()
    encoded = lsr(
        "encode", "--model", out / "model", "--queries", SHARED_DATA / "scifact", "--split", "test",
        "--out", tmp_path / "q.parquet", "--no-progress",
    )  # fmt: skip
    assert encoded.returncode == 0, encoded.stderr[-3000:]
    queries = read_vectors(tmp_path / "q.parquet")
    assert len(queries) == 300 and queries.nnz > 0


def test_an_unknown_yaml_key_is_named_with_its_file(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("model: m\nlamda_d: 0.1\n")
    done = lsr("train", config)
    assert done.returncode == 2
    assert f"{config}: unknown key 'lamda_d'" in done.stderr


def test_a_missing_model_is_named(tmp_path):
    done = lsr("train", "--dataset", "scifact")
    assert done.returncode == 2
    assert "model: required" in done.stderr


def test_help_lists_every_configuration_key():
    from dataclasses import fields

    from lsr.train.config import TrainConfig

    text = lsr("train", "--help").stdout
    for spec in fields(TrainConfig):
        assert f"--{spec.name.replace('_', '-')}" in text
