"""The API key: required on every route but health and readiness, compared whole, never logged;
query texts stay out of the log too."""

from __future__ import annotations

import httpx
import pytest
from conftest import requires_shared
from service_fixtures import API_KEY, server, splade_index

pytestmark = requires_shared

PROTECTED = [
    ("POST", "/search", {"query": "vitamin"}),
    ("GET", "/search?q=vitamin", None),
    ("POST", "/search/batch", {"searches": [{"query": "vitamin"}]}),
    ("GET", "/documents/4983", None),
    ("GET", "/stats", None),
    ("GET", "/metrics", None),
    ("POST", "/admin/reload", {}),
]


@pytest.mark.parametrize("key", [None, "", "wrong", API_KEY[:-1], API_KEY + "x"])
@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_protected_routes_refuse_a_missing_or_wrong_key(server, method, path, body, key):
    headers = {} if key is None else {"X-API-Key": key}
    response = httpx.request(method, server.url + path, json=body, headers=headers)
    assert response.status_code == 401
    assert "X-API-Key" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/", "/static/page.js", "/openapi.json"])
def test_probes_and_the_page_need_no_key(server, path):
    assert httpx.get(server.url + path).status_code == 200


def test_neither_the_key_nor_the_query_text_reach_the_log(server):
    secret = "zebrafish mitochondrial heteroplasmy"
    assert server.client.post("/search", json={"query": secret}).status_code == 200
    assert server.client.get("/search", params={"q": secret}).status_code == 200
    httpx.get(server.url + "/stats", headers={"X-API-Key": "guess-" + API_KEY})
    log = server.log()
    assert "POST /search 200" in log and "GET /search 200" in log and "GET /stats 401" in log
    assert API_KEY not in log
    assert "zebrafish" not in log
