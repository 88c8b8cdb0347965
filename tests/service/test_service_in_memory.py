"""``lsr serve --in-memory`` (a real server over HTTP): the index read into the worker's memory
answers as the mapped index in process does (a single index: its search is deterministic; the
loaders of every kind are tested in ``tests/index/test_index_open_memory.py``); with ``--ray``
the flag is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from lsr.index import BuildConfig, SeismicIndex
from lsr.index.open import open_index
from service_fixtures import API_KEY
from service_server import Server

from lsr.cli import cli
from lsr.vectors import SparseCollection, VectorMetadata

VOCAB = 300
QUERY = {"indices": [5, 19, 41], "values": [1.5, 0.5, 1.0]}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("in-memory")
    rng = np.random.default_rng(8)
    rows = [(rng.choice(VOCAB, size=10, replace=False), rng.random(10) + 0.1) for _ in range(500)]
    docs = SparseCollection.from_rows([f"d{i}" for i in range(500)], rows, VectorMetadata(VOCAB))
    SeismicIndex.build(docs, BuildConfig(n_postings=100)).save(root / "index")
    return root / "index"


def test_an_index_served_from_memory_answers_as_the_mapped_one(index_dir, tmp_path):
    log = tmp_path / "server.log"
    with Server(index_dir, "--no-model", "--in-memory", log_path=log, api_key=API_KEY) as server:
        response = server.client.post("/search", json={"vector": QUERY, "k": 8})
        assert response.status_code == 200, response.text
        hits = response.json()["hits"]
    ids, scores = open_index(index_dir).search(
        np.array(QUERY["indices"]), np.array(QUERY["values"], np.float32), k=8
    )
    assert [hit["id"] for hit in hits] == ids
    np.testing.assert_allclose([hit["score"] for hit in hits], scores, rtol=1e-6)


def test_in_memory_is_refused_with_ray(index_dir):
    result = CliRunner().invoke(
        cli, ["serve", str(index_dir), "--no-model", "--in-memory", "--ray"]
    )
    assert result.exit_code == 2
    assert "--in-memory" in result.output and "--ray" in result.output
