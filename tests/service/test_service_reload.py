"""``POST /admin/reload``: a new index swapped in under load without one failed request; a
damaged directory leaves the old index serving and the answer names the damage."""

from __future__ import annotations

import shutil
import threading

import pytest
from conftest import requires_shared
from lsr.index import SeismicIndex
from service_data import QUERIES
from service_fixtures import API_KEY, bm25_index, splade_index
from service_server import Server

from lsr.encoders import load

pytestmark = requires_shared


@pytest.fixture(scope="module")
def reload_server(splade_index, tmp_path_factory):
    """A server of its own (reloading changes what it serves)."""
    log = tmp_path_factory.getbasetemp() / "reload-server.log"
    with Server(splade_index, log_path=log, api_key=API_KEY) as running:
        yield running


def hits(response) -> list[tuple[str, float]]:
    return [(h["id"], h["score"]) for h in response.json()["hits"]]


def test_reload_swaps_under_load_with_zero_failed_requests(reload_server, splade_index, bm25_index):
    client = reload_server.client
    statuses: list[int] = []
    stop = threading.Event()

    def load_loop(text: str) -> None:
        while not stop.is_set():
            statuses.append(client.post("/search", json={"query": text}).status_code)

    threads = [threading.Thread(target=load_loop, args=(q,)) for q in QUERIES]
    for thread in threads:
        thread.start()
    try:
        index_dir, model = bm25_index
        to_bm25 = client.post(
            "/admin/reload", json={"index_dir": str(index_dir), "model": str(model)}
        )
        assert to_bm25.status_code == 200, to_bm25.text
        assert client.get("/stats").json()["encoder"] == "bm25"
        back = client.post("/admin/reload", json={"index_dir": str(splade_index)})
        assert back.status_code == 200, back.text
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert len(statuses) > 10 and set(statuses) == {200}


def test_reload_serves_the_new_index(reload_server, bm25_index, splade_index):
    client = reload_server.client
    index_dir, model = bm25_index
    assert (
        client.post(
            "/admin/reload", json={"index_dir": str(index_dir), "model": str(model)}
        ).status_code
        == 200
    )
    try:
        vector = load(model).encode_queries([QUERIES[1]])
        ids, scores = SeismicIndex.load(index_dir).search(vector.indices, vector.values, k=10)
        assert hits(client.post("/search", json={"query": QUERIES[1]})) == list(
            zip(ids, scores.tolist())
        )
    finally:
        client.post("/admin/reload", json={"index_dir": str(splade_index)})


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda d: (d / "post_docs.npy").unlink(), "post_docs.npy"),
        (lambda d: (d / "block_ptr.npy").write_bytes(b"\x93NUMPY garbage"), "block_ptr.npy"),
        (lambda d: (d / "manifest.json").write_text("{", encoding="utf-8"), "manifest.json"),
        (lambda d: shutil.rmtree(d), "no such index directory"),
    ],
    ids=["missing array", "truncated array", "broken manifest", "no directory"],
)
def test_a_damaged_directory_leaves_the_old_index(
    reload_server, splade_index, tmp_path, damage, named
):
    client = reload_server.client
    before = hits(client.post("/search", json={"query": QUERIES[0]}))
    copy = tmp_path / "copy.index"
    shutil.copytree(splade_index, copy)
    damage(copy)
    response = client.post("/admin/reload", json={"index_dir": str(copy)})
    assert response.status_code == 422
    assert named in response.json()["detail"] and "still serving" in response.json()["detail"]
    assert client.get("/readyz").json() == {"status": "ready", "index_dir": str(splade_index)}
    assert hits(client.post("/search", json={"query": QUERIES[0]})) == before
