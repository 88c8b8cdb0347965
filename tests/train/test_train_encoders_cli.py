"""A per-side model folder (an MLP query side over an MLM document side, lsr train's output)
taken as it is by ``lsr encode``, ``lsr eval`` and ``lsr serve``, each run as a real command."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import numpy as np
import pytest
from conftest import ROOT
from lsr.index import SeismicIndex
from lsr.service.process import ServiceProcess
from tiny_training import tiny_config, write_beir_folder

from lsr.encoders import PerSideEncoder, load
from lsr.train.run import train
from lsr.vector_io import read_vectors

LSR = [sys.executable, "-c", "from lsr.cli import main; main()"]


def lsr(*args):
    return subprocess.run([*LSR, *map(str, args)], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.slow
def test_a_per_side_folder_encodes_evaluates_and_serves(tmp_path):
    config = tiny_config(tmp_path, query_encoder="mlp", doc_encoder="mlm", max_steps=2)
    folder = train(config, progress=False)
    assert isinstance(load(folder), PerSideEncoder)
    beir = write_beir_folder(tmp_path / "beir")

    encoded = lsr(
        "encode", "--model", folder, "--corpus", beir, "--out", tmp_path / "docs.parquet",
        "--no-progress",
    )  # fmt: skip
    assert encoded.returncode == 0, encoded.stderr[-3000:]
    documents = read_vectors(tmp_path / "docs.parquet")
    assert len(documents) == 12 and documents.nnz > 0
    assert documents.metadata.provenance["model"] == str(folder)

    evaluated = lsr(
        "eval", "--model", folder, "--dataset", beir, "--out", tmp_path / "report",
        "--cache-dir", tmp_path / "cache", "--latency-queries", 1, "--no-progress",
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert "ndcg@10" in json.dumps(metrics).lower()

    # no --model: lsr serve takes the per-side folder the documents' provenance names
    SeismicIndex.build(documents).save(tmp_path / "index")
    with ServiceProcess(tmp_path / "index", log_path=tmp_path / "serve.log") as service:
        answer = httpx.post(f"{service.url}/search", json={"query": "breast cancer", "k": 3})
    assert answer.status_code == 200, answer.text
    query = load(folder).encode_queries(["breast cancer"])
    ids, scores = SeismicIndex.load(tmp_path / "index").search(*query.row(0), k=3)
    hits = answer.json()["hits"]
    assert len(hits) > 0
    assert [hit["id"] for hit in hits] == list(ids)
    np.testing.assert_allclose([hit["score"] for hit in hits], scores, rtol=1e-5)
