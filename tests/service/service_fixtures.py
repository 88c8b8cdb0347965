"""Fixtures of the service tests: real indexes and real servers, each made once per session.

Test modules import these fixtures by name (a second conftest.py would shadow tests/conftest.py,
which tests import as ``conftest``). A fixture imported into several modules is a separate
fixture in each, so the indexes and servers are memoized here: the first module to ask makes
them, the others reuse them, and they stop when the session ends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SPLADE_TINY
from lsr.index import SeismicIndex
from service_data import build_bm25_index, build_splade_index
from service_server import Server

from lsr.encoders import load

API_KEY = "test-key-3f9a1c"

_made: dict[str, Any] = {}


def once(name: str, make: Callable[[], Any]) -> Any:
    if name not in _made:
        _made[name] = make()
    return _made[name]


@pytest.fixture(scope="session")
def splade_index(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    return once("splade", lambda: build_splade_index(base / "splade" / "scifact.index"))


@pytest.fixture(scope="session")
def bm25_index(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.getbasetemp() / "bm25"
    return once("bm25", lambda: (build_bm25_index(base / "index", base / "model"), base / "model"))


@pytest.fixture(scope="session")
def encoder():
    return once("encoder", lambda: load(str(SPLADE_TINY)))


@pytest.fixture(scope="session")
def index(splade_index) -> SeismicIndex:
    return SeismicIndex.load(splade_index)


@pytest.fixture(scope="session")
def server(splade_index, tmp_path_factory):
    """The splade-tiny index served with an API key (its client sends it). It encodes on as
    many torch threads as this process, so that both make bit-identical query vectors (the
    threads split the sums of the matrix products differently)."""
    import torch

    log = tmp_path_factory.getbasetemp() / "splade-server.log"
    threads = ("--torch-threads", str(torch.get_num_threads()))
    running = once(
        "server",
        lambda: Server(splade_index, *threads, log_path=log, api_key=API_KEY).__enter__(),
    )
    yield running
    running.__exit__(None, None, None)
