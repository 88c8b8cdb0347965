"""``lsr serve`` over a sharded index (a real server over HTTP, vector queries, ``--no-model``):
it answers as the index opened in process does."""

from __future__ import annotations

import pytest
from lsr.index.sharded import build_sharded
from service_data import check_answers_as_in_process, random_vectors
from service_fixtures import API_KEY
from service_server import Server

from lsr.vector_io import write_vectors

VOCAB = 300
QUERY = {"indices": [7, 11, 40], "values": [1.0, 0.5, 2.0]}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("sharded")
    write_vectors(root / "docs.parquet", random_vectors(600, seed=3, vocab_size=VOCAB))
    build_sharded(root / "docs.parquet", root / "index", 2, threads=1)
    log = tmp_path_factory.getbasetemp() / "sharded-server.log"
    with Server(root / "index", "--no-model", log_path=log, api_key=API_KEY) as running:
        yield running, root / "index"


def test_search_answers_as_the_sharded_index_in_process(served):
    server, directory = served
    check_answers_as_in_process(server.client, directory, QUERY, k=8)


def test_stats_count_the_documents_of_every_shard(served):
    server, _ = served
    assert server.client.get("/stats").json()["documents"] == 600
