"""``lsr serve`` over a sharded index (a real server over HTTP, vector queries, ``--no-model``):
it answers as the index opened in process does."""

from __future__ import annotations

import numpy as np
import pytest
from lsr.index.open import open_index
from lsr.index.sharded import build_sharded
from service_fixtures import API_KEY
from service_server import Server

from lsr.vector_io import write_vectors
from lsr.vectors import SparseCollection, VectorMetadata

VOCAB = 300
QUERY = {"indices": [7, 11, 40], "values": [1.0, 0.5, 2.0]}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("sharded")
    rng = np.random.default_rng(3)
    rows = [(rng.choice(VOCAB, size=10, replace=False), rng.random(10) + 0.1) for _ in range(600)]
    docs = SparseCollection.from_rows([f"d{i}" for i in range(600)], rows, VectorMetadata(VOCAB))
    write_vectors(root / "docs.parquet", docs)
    build_sharded(root / "docs.parquet", root / "index", 2, threads=1)
    log = tmp_path_factory.getbasetemp() / "sharded-server.log"
    with Server(root / "index", "--no-model", log_path=log, api_key=API_KEY) as running:
        yield running, root / "index"


def test_search_answers_as_the_sharded_index_in_process(served):
    server, directory = served
    response = server.client.post("/search", json={"vector": QUERY, "k": 8})
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    ids, scores = open_index(directory).search(
        np.array(QUERY["indices"]), np.array(QUERY["values"], np.float32), k=8
    )
    assert [hit["id"] for hit in hits] == ids
    np.testing.assert_allclose([hit["score"] for hit in hits], scores, rtol=1e-6)


def test_stats_count_the_documents_of_every_shard(served):
    server, _ = served
    assert server.client.get("/stats").json()["documents"] == 600
