"""``lsr serve`` over a living index: ``/admin/reload`` picks up the commits of ``lsr index add``
and ``delete`` (a real server over HTTP, vector queries, ``--no-model``)."""

from __future__ import annotations

import numpy as np
import pytest
from lsr.index import SeismicIndex
from lsr.index.living import LivingIndex
from service_fixtures import API_KEY
from service_server import Server

from lsr.vectors import SparseCollection, VectorMetadata

VOCAB = 300
QUERY = {"indices": [7, 11], "values": [1.0, 1.0]}


def vectors(ids: list[str], seed: int) -> SparseCollection:
    rng = np.random.default_rng(seed)
    rows = [(rng.choice(VOCAB, size=10, replace=False), rng.random(10) + 0.1) for _ in ids]
    return SparseCollection.from_rows(ids, rows, VectorMetadata(VOCAB))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    directory = tmp_path_factory.mktemp("living") / "index"
    SeismicIndex.build(vectors([f"d{i}" for i in range(500)], seed=1)).save(directory)
    log = tmp_path_factory.getbasetemp() / "living-server.log"
    with Server(directory, "--no-model", log_path=log, api_key=API_KEY) as running:
        yield running, directory


def top_ids(server) -> list[str]:
    response = server.client.post("/search", json={"vector": QUERY, "k": 5})
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["hits"]]


def test_reload_picks_up_added_and_deleted_documents(served):
    server, directory = served
    before = top_ids(server)
    # A document made to win the query: heavy weights on both query terms.
    winner = SparseCollection.from_rows(
        ["winner"], [([7, 11], [50.0, 50.0])], VectorMetadata(VOCAB)
    )
    with LivingIndex.open(directory) as index:
        index.add(winner)
    assert top_ids(server) == before  # not reloaded yet: the old commit still serves
    assert server.client.post("/admin/reload").status_code == 200
    assert top_ids(server)[0] == "winner"
    with LivingIndex.open(directory) as index:
        index.delete(["winner", before[0]])
    assert server.client.post("/admin/reload").status_code == 200
    after = top_ids(server)
    assert "winner" not in after and before[0] not in after
    assert after[:4] == before[1:5]
    stats = server.client.get("/stats").json()
    assert stats["documents"] == 499


def test_search_takes_a_filter(served):
    server, directory = served
    plain = server.client.post("/search", json={"vector": QUERY, "filter": {"must": []}})
    if plain.status_code == 422:  # still the built index: it has no attributes to filter on
        assert plain.json()["detail"][0]["loc"] == ["body", "filter"]
    tagged = SparseCollection.from_rows(
        [f"t{i}" for i in range(20)], [([7, 11], [i + 1.0, 1.0]) for i in range(20)],
        VectorMetadata(VOCAB),
    )  # fmt: skip
    with LivingIndex.open(directory) as index:
        index.add(tagged, {f"t{i}": {"tenant": "acme" if i % 2 else "globex"} for i in range(20)})
    assert server.client.post("/admin/reload").status_code == 200
    body = {
        "vector": QUERY,
        "k": 30,
        "filter": {"must": [{"key": "tenant", "match": {"value": "acme"}}]},
    }
    found = [h["id"] for h in server.client.post("/search", json=body).json()["hits"]]
    expected = LivingIndex.open(directory)
    try:
        ids, _ = expected.search(np.array(QUERY["indices"]), np.array(QUERY["values"]), k=30,
                                 filter=body["filter"])  # fmt: skip
    finally:
        expected.close()
    assert found == ids and len(found) == 10 and all(int(i[1:]) % 2 for i in found)
    bad = dict(body, filter={"must": [{"key": "tenant", "range": {"gt": [1]}}]})
    response = server.client.post("/search", json=bad)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "filter"]
    assert "filter.must[0].range.gt: must be a string or a number" in response.text
