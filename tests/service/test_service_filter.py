"""``filter`` on ``GET /search`` (JSON in the query string) and in ``POST /search/batch``: the
hits are the living index's own filtered search, a bad filter is answered 422 naming where it
is (a real server with splade-tiny over 200 SciFact documents that carry a ``tenant``)."""

from __future__ import annotations

import json

import pytest
from conftest import requires_shared
from lsr.index.living import LivingIndex
from service_data import QUERIES, scifact_documents
from service_fixtures import API_KEY, encoder
from service_server import Server

pytestmark = requires_shared

ACME = {"must": [{"key": "tenant", "match": {"value": "acme"}}]}


@pytest.fixture(scope="module")
def served(tmp_path_factory, encoder):
    """A living index of 200 SciFact documents, every third one of tenant ``acme``."""
    import torch

    documents = scifact_documents(200)
    vectors = encoder.encode_documents([d.full_text for d in documents], [d.id for d in documents])
    directory = tmp_path_factory.mktemp("filter") / "index"
    tenants = {
        d.id: {"tenant": "acme" if i % 3 == 0 else "globex"} for i, d in enumerate(documents)
    }
    with LivingIndex.open(directory, vectors.metadata) as index:
        index.add(vectors, tenants)
    log = tmp_path_factory.getbasetemp() / "filter-server.log"
    threads = ("--torch-threads", str(torch.get_num_threads()))
    with Server(directory, *threads, log_path=log, api_key=API_KEY) as running:
        yield running, directory, tenants


def expected_ids(directory, encoder, text: str, k: int) -> list[str]:
    vector = encoder.encode_queries([text])
    with LivingIndex.open(directory) as index:
        ids, _ = index.search(vector.indices, vector.values, k=k, filter=ACME)
    return ids


def test_get_search_filters_as_the_index_does(served, encoder):
    server, directory, tenants = served
    response = server.client.get(
        "/search", params={"q": QUERIES[0], "k": 8, "filter": json.dumps(ACME)}
    )
    assert response.status_code == 200, response.text
    found = [hit["id"] for hit in response.json()["hits"]]
    assert found == expected_ids(directory, encoder, QUERIES[0], 8)
    assert len(found) == 8 and all(tenants[i]["tenant"] == "acme" for i in found)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "Invalid JSON"),
        (json.dumps({"must": [{"key": "tenant", "range": {"gt": [1]}}]}), "range.gt"),
    ],
)
def test_get_search_names_a_bad_filter(served, text, message):
    server, _, _ = served
    response = server.client.get("/search", params={"q": QUERIES[0], "filter": text})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "filter"]
    assert message in response.text


def test_batch_names_the_search_whose_filter_is_bad(served):
    server, _, _ = served
    bad = {"must": [{"key": "tenant", "range": {"gt": [1]}}]}
    body = {"searches": [{"query": QUERIES[0]}, {"query": QUERIES[1], "filter": bad}]}
    response = server.client.post("/search/batch", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "searches", 1, "filter"]
