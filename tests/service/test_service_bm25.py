"""A BM25 index served with its saved encoder and exact search: results equal the exact search
of the BM25 query vector; a service without an API key refuses reloads; CORS as configured."""

from __future__ import annotations

import subprocess

import pytest
from conftest import requires_shared
from lsr.index import SeismicIndex
from service_data import QUERIES
from service_fixtures import bm25_index, once
from service_server import LSR, Server

from lsr.encoders import load

pytestmark = requires_shared
ORIGIN = "http://app.example.org"


@pytest.fixture(scope="module")
def bm25_server(bm25_index, tmp_path_factory):
    index_dir, model = bm25_index
    log = tmp_path_factory.getbasetemp() / "bm25-server.log"
    options = ("--model", str(model), "--exact", "--cors-origin", ORIGIN)
    with Server(index_dir, *options, log_path=log) as running:
        yield running


@pytest.mark.parametrize("text", QUERIES)
def test_bm25_text_query_hits_are_exact_search_of_its_encoding(bm25_server, bm25_index, text):
    index_dir, model = bm25_index
    exact = once("bm25-exact", lambda: SeismicIndex.load(index_dir).exact())
    vector = load(model).encode_queries([text])
    ids, scores = exact.search(vector.indices, vector.values, k=10)
    response = bm25_server.client.post("/search", json={"query": text})
    assert [(h["id"], h["score"]) for h in response.json()["hits"]] == list(
        zip(ids, scores.tolist())
    )


def test_bm25_explain_names_analysed_terms(bm25_server):
    response = bm25_server.client.post("/search", json={"query": "vitamins", "explain": True})
    hits = response.json()["hits"]
    assert hits and {m["term"] for m in hits[0]["matched"]} == {"vitamin"}


def test_stats_say_exact_bm25(bm25_server, bm25_index):
    stats = bm25_server.client.get("/stats").json()
    assert (stats["search"], stats["encoder"], stats["model"]) == (
        "exact",
        "bm25",
        str(bm25_index[1]),
    )


def test_reload_without_a_configured_key_is_403(bm25_server):
    response = bm25_server.client.post("/admin/reload", json={})
    assert response.status_code == 403
    assert "LSR_API_KEY" in response.json()["detail"]


def test_cors_allows_the_configured_origin_only(bm25_server):
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key",
    }
    allowed = bm25_server.client.options("/search", headers={"Origin": ORIGIN, **preflight})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    other = bm25_server.client.options(
        "/search", headers={"Origin": "http://evil.test", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers


def test_an_index_without_a_recorded_model_needs_model(bm25_index):
    result = subprocess.run([LSR, "serve", str(bm25_index[0])], capture_output=True, text=True)
    assert result.returncode == 2
    assert "pass --model" in result.stderr and "bm25 vectors" in result.stderr


def test_a_query_of_stop_words_finds_nothing(bm25_server):
    response = bm25_server.client.post("/search", json={"query": "the of and"})
    assert response.status_code == 200
    assert response.json()["hits"] == []
