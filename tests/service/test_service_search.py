"""Searches over HTTP against a real server: the hits are the index's own, explanations add up,
text comes from the docstore, concurrent requests are all answered correctly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import requires_shared
from service_data import QUERIES, STORED_DEFAULTS, scifact_documents
from service_fixtures import encoder, index, server, splade_index

pytestmark = requires_shared


def query_vector(encoder, text):
    vector = encoder.encode_queries([text])
    return vector.indices, vector.values


def expected_hits(index, terms, weights, k=10, **params):
    ids, scores = index.search(terms, weights, k=k, **params)
    return [(doc_id, float(score)) for doc_id, score in zip(ids, scores)]


def got_hits(response) -> list[tuple[str, float]]:
    assert response.status_code == 200, response.text
    return [(hit["id"], hit["score"]) for hit in response.json()["hits"]]


@pytest.mark.parametrize("text", QUERIES)
def test_text_query_hits_are_the_index_search_of_its_encoding(server, encoder, index, text):
    terms, weights = query_vector(encoder, text)
    response = server.client.post("/search", json={"query": text, "k": 10})
    assert got_hits(response) == expected_hits(index, terms, weights)


def test_vector_query_hits_are_the_index_search(server, encoder, index):
    terms, weights = query_vector(encoder, QUERIES[0])
    body = {"vector": {"indices": terms.tolist(), "values": weights.tolist()}, "k": 20}
    response = server.client.post("/search", json=body)
    assert got_hits(response) == expected_hits(index, terms, weights, k=20)


def test_token_vector_equals_indexed_vector(server, encoder):
    terms, weights = query_vector(encoder, QUERIES[1])
    tokens = {encoder.vocabulary[t]: float(w) for t, w in zip(terms, weights)}
    by_token = server.client.post("/search", json={"vector": tokens})
    indexed = {"indices": terms.tolist(), "values": weights.tolist()}
    by_index = server.client.post("/search", json={"vector": indexed})
    assert got_hits(by_token) == got_hits(by_index)


def test_search_parameters_reach_the_index(server, encoder, index):
    terms, weights = query_vector(encoder, QUERIES[2])
    body = {"query": QUERIES[2], "k": 5, "query_cut": 2, "heap_factor": 1.5}
    response = server.client.post("/search", json=body)
    assert got_hits(response) == expected_hits(
        index, terms, weights, k=5, query_cut=2, heap_factor=1.5
    )


def test_parameters_left_out_are_the_index_stored_defaults(server, encoder, index):
    terms, weights = query_vector(encoder, QUERIES[2])
    response = server.client.post("/search", json={"query": QUERIES[2], "k": 10})
    assert got_hits(response) == expected_hits(
        index, terms, weights, k=10, query_cut=5, heap_factor=0.9
    )


def test_offset_pages_through_the_same_ranking(server):
    deep = got_hits(server.client.post("/search", json={"query": QUERIES[0], "k": 15}))
    page = got_hits(server.client.post("/search", json={"query": QUERIES[0], "k": 5, "offset": 10}))
    assert page == deep[10:15]


def test_get_search_equals_post(server):
    got = got_hits(server.client.get("/search", params={"q": QUERIES[3], "k": 7}))
    posted = got_hits(server.client.post("/search", json={"query": QUERIES[3], "k": 7}))
    assert got == posted


def test_explain_contributions_sum_to_the_score(server, encoder, index):
    terms, weights = query_vector(encoder, QUERIES[0])
    query = dict(zip(terms.tolist(), weights.tolist()))
    response = server.client.post("/search", json={"query": QUERIES[0], "explain": True})
    hits = response.json()["hits"]
    assert hits
    positions = {doc_id: i for i, doc_id in enumerate(index.doc_ids)}
    forward = index.forward.to_two_arrays()  # the stored rows read apart from the service's code
    for hit in hits:
        matched = hit["matched"]
        assert sum(m["contribution"] for m in matched) == pytest.approx(hit["score"], rel=1e-5)
        # Each term by hand: the query's weight and the document's weight as the index stores it.
        position = positions[hit["id"]]
        lo, hi = forward.indptr[position], forward.indptr[position + 1]
        stored = dict(zip(forward.terms[lo:hi].tolist(), forward.float_values(lo, hi)))
        assert len(matched) == len(set(query) & set(stored))
        for m in matched:
            term = encoder.vocabulary.index(m["term"])
            assert m["query_weight"] == pytest.approx(query[term], rel=1e-7)
            assert m["doc_weight"] == pytest.approx(float(stored[term]), rel=1e-7)
            assert m["contribution"] == pytest.approx(query[term] * stored[term], rel=1e-6)


def test_include_text_gives_the_corpus_title_and_text(server):
    documents = {d.id: d for d in scifact_documents()}
    response = server.client.post("/search", json={"query": QUERIES[1], "include_text": True})
    hits = response.json()["hits"]
    assert hits
    for hit in hits:
        assert (hit["title"], hit["text"]) == (
            documents[hit["id"]].title,
            documents[hit["id"]].text,
        )


def test_hits_leave_out_what_was_not_asked_for(server):
    hit = server.client.post("/search", json={"query": QUERIES[1]}).json()["hits"][0]
    assert set(hit) == {"id", "score"}


def test_batch_answers_each_search_as_alone(server):
    searches = [{"query": q, "k": 3} for q in QUERIES]
    response = server.client.post("/search/batch", json={"searches": searches})
    assert response.status_code == 200, response.text
    alone = [server.client.post("/search", json=s).json()["hits"] for s in searches]
    assert [r["hits"] for r in response.json()["results"]] == alone


def test_fifty_concurrent_requests_are_all_correct(server, encoder, index):
    vectors = [query_vector(encoder, q) for q in QUERIES]
    expected = [expected_hits(index, t, w, k=10) for t, w in vectors]
    bodies = [
        {"query": QUERIES[i % 4]} if i % 2 else
        {"vector": {"indices": vectors[i % 4][0].tolist(), "values": vectors[i % 4][1].tolist()}}
        for i in range(50)
    ]  # fmt: skip
    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda body: server.client.post("/search", json=body), bodies))
    for i, response in enumerate(responses):
        assert got_hits(response) == expected[i % 4], f"request {i}"


def test_document_by_id_is_the_corpus_document(server):
    document = scifact_documents()[42]
    response = server.client.get(f"/documents/{document.id}")
    assert response.json() == {"id": document.id, "title": document.title, "text": document.text}


def test_unknown_document_is_404(server):
    response = server.client.get("/documents/no-such-document")
    assert response.status_code == 404
    assert "no-such-document" in response.json()["detail"]


def test_stats_describe_the_index_and_count_queries(server, index):
    before = server.client.get("/stats").json()["queries_served"]
    server.client.post("/search", json={"query": QUERIES[0]})
    stats = server.client.get("/stats").json()
    assert stats["documents"] == len(index) and stats["queries_served"] == before + 1
    assert stats["index_bytes"]["total"] == index.nbytes()["total"]
    assert stats["search_defaults"] == STORED_DEFAULTS.to_json()


def test_metrics_count_requests_by_route_and_status(server):
    server.client.get("/documents/no-such-document")
    text = server.client.get("/metrics").text
    assert 'lsr_http_requests_total{method="GET",route="/documents/{doc_id}",status="404"}' in text
    assert 'lsr_search_latency_seconds_count{stage="encode"}' in text


def test_health_and_readiness(server):
    assert server.client.get("/healthz").json() == {"status": "ok"}
    assert server.client.get("/readyz").json()["status"] == "ready"


def test_scores_are_float32_exact(server, index):
    terms = np.array([2001, 3000, 7592], dtype=np.int64)
    weights = np.array([1.5, 0.25, 2.0], dtype=np.float32)
    body = {"vector": {"indices": terms.tolist(), "values": weights.tolist()}}
    assert got_hits(server.client.post("/search", json=body)) == expected_hits(
        index, terms, weights
    )
