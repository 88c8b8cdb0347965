"""Every bad input is answered with its 4xx, and the answer names the field at fault."""

from __future__ import annotations

import pytest
from conftest import requires_shared
from service_fixtures import server, splade_index

pytestmark = requires_shared

WORDS = " ".join(["protein"] * 200)  # 200 tokens: over the default limit of 128
GOOD = {"query": "vitamin D"}

# (what is wrong, body, field the answer must name)
BAD_BODIES = [
    ("empty query", {"query": ""}, "query"),
    ("blank query", {"query": "  \t "}, "query"),
    ("query of the wrong type", {"query": 5}, "query"),
    ("query over the character limit", {"query": "a" * 2001}, "query"),
    ("query over the token limit", {"query": WORDS}, "query"),
    ("k zero", {**GOOD, "k": 0}, "k"),
    ("k over 1000", {**GOOD, "k": 1001}, "k"),
    ("k of the wrong type", {**GOOD, "k": "ten"}, "k"),
    ("negative offset", {**GOOD, "offset": -1}, "offset"),
    ("k + offset over 1000", {**GOOD, "k": 600, "offset": 500}, "k + offset"),
    ("query_cut zero", {**GOOD, "query_cut": 0}, "query_cut"),
    ("negative heap_factor", {**GOOD, "heap_factor": -0.5}, "heap_factor"),
    ("heap_factor too large", {**GOOD, "heap_factor": 11}, "heap_factor"),
    ("include_text not a bool", {**GOOD, "include_text": "maybe"}, "include_text"),
    ("unknown field", {**GOOD, "fuzziness": 2}, "fuzziness"),
    ("query and vector", {**GOOD, "vector": {"protein": 1.0}}, "exactly one of 'query' and 'vector'"),
    ("neither query nor vector", {"k": 3}, "exactly one of 'query' and 'vector'"),
    ("unknown token", {"vector": {"protein": 1.0, "zzqqxx": 2.0}}, "zzqqxx"),
    ("negative token weight", {"vector": {"protein": -1.0}}, "vector"),
    ("term id outside the vocabulary", {"vector": {"indices": [5, 30522], "values": [1, 1]}}, "vector.indices.1"),
    ("negative term id", {"vector": {"indices": [-3], "values": [1]}}, "vector"),
    ("indices and values of different lengths", {"vector": {"indices": [1, 2], "values": [1]}}, "vector"),
    ("repeated term id", {"vector": {"indices": [7, 7], "values": [1, 2]}}, "repeated"),
    ("vector of the wrong type", {"vector": [1, 2, 3]}, "vector"),
    ("body not an object", [1, 2], "body"),
]  # fmt: skip


def names(response, field: str) -> bool:
    """Whether the error answer names ``field`` (in a location or in the message)."""
    detail = response.json()["detail"]
    if isinstance(detail, str):
        return field in detail
    return any(
        field in ".".join(str(part) for part in item["loc"]) or field in item["msg"]
        for item in detail
    )


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_search_body_is_422_naming_the_field(server, case, body, field):
    response = server.client.post("/search", json=body)
    assert response.status_code == 422, response.text
    assert names(response, field), response.text


def test_malformed_json_is_422(server):
    response = server.client.post(
        "/search", content=b'{"query": "x",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert names(response, "body")


@pytest.mark.parametrize(
    "raw", [b"", b"%\xff\xdc\x87", b'{"query": "\xff"}'], ids=["empty", "binary", "not UTF-8"]
)
def test_a_body_that_is_not_json_text_is_422(server, raw):
    """Found by schemathesis: the answer names the body and does not echo bytes it cannot
    encode (a 500 when it did)."""
    response = server.client.post(
        "/search", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert names(response, "body"), response.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x", "k": "abc"}, "k"),
        ({"q": "x", "sort": "date"}, "sort"),
    ],
)
def test_bad_get_search_is_422_naming_the_parameter(server, params, field):
    response = server.client.get("/search", params=params)
    assert response.status_code == 422, response.text
    assert names(response, field), response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"searches": []}, "searches"),
        ({"searches": [GOOD] * 101}, "searches"),
        ({"searches": [GOOD, {**GOOD, "k": 0}]}, "searches.1.k"),
        ({"searches": [GOOD, {"vector": {"zzqqxx": 1.0}}]}, "searches.1.vector.zzqqxx"),
    ],
)
def test_bad_batch_is_422_naming_the_search(server, body, field):
    response = server.client.post("/search/batch", json=body)
    assert response.status_code == 422, response.text
    assert names(response, field), response.text


def test_body_over_the_limit_is_413(server):
    response = server.client.post("/search", json={"query": "x" * (1 << 20)})
    assert response.status_code == 413


def test_chunked_body_over_the_limit_is_413(server):
    def chunks():
        yield b'{"query": "'
        for _ in range(2048):
            yield b"x" * 1024
        yield b'"}'

    response = server.client.post(
        "/search", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_document_id_over_the_limit_is_422(server):
    response = server.client.get("/documents/" + "d" * 1001)
    assert response.status_code == 422
    assert names(response, "doc_id")


@pytest.mark.parametrize(
    ("method", "path", "status"), [("PUT", "/search", 405), ("GET", "/nope", 404)]
)
def test_unknown_routes_and_methods(server, method, path, status):
    assert server.client.request(method, path).status_code == status
