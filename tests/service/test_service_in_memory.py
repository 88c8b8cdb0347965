"""``lsr serve --in-memory`` (a real server over HTTP): the index read into the worker's memory
answers as the mapped index in process does (a single index: its search is deterministic; the
loaders of every kind are tested in ``tests/index/test_index_open_memory.py``); with ``--ray``
the flag is refused by name."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from lsr.index import BuildConfig, SeismicIndex
from service_data import check_answers_as_in_process, random_vectors
from service_fixtures import API_KEY
from service_server import Server

from lsr.cli import cli

VOCAB = 300
QUERY = {"indices": [5, 19, 41], "values": [1.5, 0.5, 1.0]}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("in-memory")
    docs = random_vectors(500, seed=8, vocab_size=VOCAB)
    SeismicIndex.build(docs, BuildConfig(n_postings=100)).save(root / "index")
    return root / "index"


def test_an_index_served_from_memory_answers_as_the_mapped_one(index_dir, tmp_path):
    log = tmp_path / "server.log"
    with Server(index_dir, "--no-model", "--in-memory", log_path=log, api_key=API_KEY) as server:
        check_answers_as_in_process(server.client, index_dir, QUERY, k=8)


def test_in_memory_is_refused_with_ray(index_dir):
    result = CliRunner().invoke(
        cli, ["serve", str(index_dir), "--no-model", "--in-memory", "--ray"]
    )
    assert result.exit_code == 2
    assert "--in-memory" in result.output and "--ray" in result.output
