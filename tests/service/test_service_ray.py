"""``lsr serve INDEX_DIR --ray``: each shard a Ray Serve deployment, the service's app the
ingress; a real server on 127.0.0.1 answers as ``lsr serve`` does on the same sharded index
(vector queries, ``--no-model``)."""

from __future__ import annotations

import numpy as np
import pytest
from lsr.index.sharded import ShardedIndex, build_sharded
from service_data import random_vectors
from service_fixtures import API_KEY
from service_server import Server

from lsr.vector_io import write_vectors

pytestmark = pytest.mark.ray

VOCAB = 300
QUERIES = [
    {"vector": {"indices": [7, 11, 40], "values": [1.0, 0.5, 2.0]}, "k": 8},
    {"vector": {"indices": [3, 250], "values": [0.7, 1.3]}, "k": 5, "offset": 3, "explain": True},
    {"vector": {"indices": [12], "values": [2.0]}, "k": 4, "query_cut": 1, "heap_factor": 0.5},
]
#: Refused bodies: each answers the same status and detail from both servers.
INVALID = [
    {"vector": {"indices": [7, VOCAB + 1], "values": [1.0, 0.5]}, "k": 8},
    {"vector": {"indices": [7], "values": [1.0]}, "k": 0},
    {"query": "text without a model", "k": 3},
]


@pytest.fixture(scope="module")
def sharded_dir(tmp_path_factory):
    """A 2-shard index of 500 random documents."""
    root = tmp_path_factory.mktemp("ray-served")
    write_vectors(root / "docs.parquet", random_vectors(500, seed=5, vocab_size=VOCAB))
    build_sharded(root / "docs.parquet", root / "index", 2, threads=1)
    return root / "index"


@pytest.fixture(scope="module")
def servers(sharded_dir, tmp_path_factory):
    """``lsr serve`` and ``lsr serve --ray --replicas 1`` on the same 2-shard index."""
    base = tmp_path_factory.getbasetemp()
    with (
        Server(sharded_dir, "--no-model", log_path=base / "plain.log", api_key=API_KEY) as plain,
        Server(sharded_dir, "--no-model", "--ray", "--replicas", "1",
               log_path=base / "ray.log", api_key=API_KEY) as ray_served,
    ):  # fmt: skip
        yield plain, ray_served


@pytest.fixture(scope="module")
def shards_alone(sharded_dir):
    """The Ray fan-out's search, in process: each shard searched alone and the top-k merged
    (the shards' deployments are processes of their own, which share no bound; lsr serve's
    threads do, :mod:`index.shared_bound`, and may skip blocks that these search)."""
    index = ShardedIndex.load(sharded_dir)
    index.share_bound = False
    return index


@pytest.mark.parametrize("body", QUERIES, ids=["k8", "offset-explain", "params"])
def test_the_ray_served_api_answers_as_lsr_serve(servers, shards_alone, body):
    plain, ray_served = servers
    answers = [server.client.post("/search", json=body) for server in (plain, ray_served)]
    assert [a.status_code for a in answers] == [200, 200], answers[1].text
    expected, found = (a.json() for a in answers)
    offset = body.get("offset", 0)
    params = {name: body[name] for name in ("query_cut", "heap_factor") if name in body}
    vector = body["vector"]
    terms, weights = np.array(vector["indices"]), np.array(vector["values"], np.float32)
    ids, scores = shards_alone.search(terms, weights, body["k"] + offset, **params)
    assert [h["id"] for h in found["hits"]] == ids[offset:]
    np.testing.assert_allclose([h["score"] for h in found["hits"]], scores[offset:], rtol=1e-6)
    # What explains a document's score depends on the query and the document alone.
    explained = {h["id"]: h.get("matched") for h in expected["hits"]}
    both = [h for h in found["hits"] if h["id"] in explained]
    assert both and all(h.get("matched") == explained[h["id"]] for h in both)


@pytest.mark.parametrize("body", INVALID, ids=["term", "k", "text"])
def test_the_ray_served_api_refuses_as_lsr_serve(servers, body):
    answers = [server.client.post("/search", json=body) for server in servers]
    assert answers[0].status_code == 422
    assert [a.status_code for a in answers[1:]] == [answers[0].status_code]
    assert answers[1].json() == answers[0].json()


def test_the_ray_served_stats_and_metrics_are_the_service_s(servers):
    plain, ray_served = servers
    assert ray_served.client.get("/stats").json()["documents"] == 500
    metrics = ray_served.client.get("/metrics")
    assert metrics.status_code == 200
    assert "lsr_" in metrics.text
    assert plain.client.get("/readyz").status_code == ray_served.client.get("/readyz").status_code
