"""An index of vectors made elsewhere (no vocabulary, no model) served with ``--no-model``:
vector queries only, answered as the index's own search; text queries refused by field."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest
from lsr.index import SeismicIndex
from service_server import Server

from lsr.vectors import SparseCollection, VectorMetadata

VOCAB = 500


def random_vectors(n: int, seed: int) -> SparseCollection:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        terms = rng.choice(VOCAB, size=int(rng.integers(1, 30)), replace=False)
        rows.append((terms, rng.lognormal(0.0, 0.7, size=len(terms)).astype(np.float32)))
    return SparseCollection.from_rows([f"v{i}" for i in range(n)], rows, VectorMetadata(VOCAB))


@pytest.fixture(scope="module")
def vector_index(tmp_path_factory):
    directory = tmp_path_factory.mktemp("vectors") / "index"
    SeismicIndex.build(random_vectors(2000, seed=1)).save(directory)
    return SeismicIndex.load(directory), directory


@pytest.fixture(scope="module")
def vector_server(vector_index, tmp_path_factory):
    log = tmp_path_factory.getbasetemp() / "vector-server.log"
    with Server(vector_index[1], "--no-model", log_path=log) as running:
        yield running


def test_vector_queries_are_the_index_search(vector_server, vector_index):
    index = vector_index[0]
    queries = random_vectors(20, seed=2)
    for i in range(len(queries)):
        terms, weights = queries.row(i)
        body = {"vector": {"indices": terms.tolist(), "values": weights.tolist()}, "k": 10}
        hits = vector_server.client.post("/search", json=body).json()["hits"]
        ids, scores = index.search(terms, weights, k=10)
        assert [(h["id"], h["score"]) for h in hits] == list(zip(ids, scores.tolist()))


def test_explain_names_terms_by_id(vector_server):
    body = {"vector": {"indices": [1, 2, 3], "values": [1.0, 1.0, 1.0]}, "explain": True}
    hit = vector_server.client.post("/search", json=body).json()["hits"][0]
    assert {m["term"] for m in hit["matched"]} <= {"1", "2", "3"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"query": "anything"}, "no query model"),
        ({"vector": {"token": 1.0}}, "no vocabulary"),
        ({"vector": {"indices": [VOCAB], "values": [1.0]}}, f"outside the vocabulary [0, {VOCAB})"),
    ],
)
def test_what_the_index_cannot_answer_is_422(vector_server, body, message):
    response = vector_server.client.post("/search", json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"][0]["msg"]


def test_no_docstore_means_ids_and_scores_only(vector_server):
    body = {"vector": {"indices": [1], "values": [1.0]}, "include_text": True}
    hit = vector_server.client.post("/search", json=body).json()["hits"][0]
    assert set(hit) == {"id", "score"}
    assert vector_server.client.get("/documents/v1").status_code == 404


def test_two_workers_answer_and_their_metrics_add_up(vector_index, tmp_path):
    log = tmp_path / "workers.log"
    body = {"vector": {"indices": [1, 2], "values": [1.0, 0.5]}}
    with Server(vector_index[1], "--no-model", "--workers", "2", log_path=log) as server:
        deadline = time.monotonic() + 120
        while server.log().count("serving ") < 3 and time.monotonic() < deadline:
            time.sleep(0.2)  # each worker loads the index by itself
        pids = set()
        for _ in range(30):  # a connection each: the workers take turns accepting them
            assert httpx.post(server.url + "/search", json=body).status_code == 200
            pids.add(httpx.get(server.url + "/stats").json()["pid"])
        metrics = server.client.get("/metrics").text
    assert len(pids) == 2
    line = 'lsr_http_requests_total{method="POST",route="/search",status="200"} 30.0'
    assert line in metrics
