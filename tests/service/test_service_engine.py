"""`lsr serve --engine`: the service's engine over the index's stored default."""

from __future__ import annotations

import pytest
from lsr.index import BuildConfig, SeismicIndex
from lsr.service.state import load_state

from tests.index.index_data import random_collection


@pytest.mark.parametrize(("engine", "search"), [(None, "seismic"), ("exact", "exact")])
def test_engine_overrides_the_stored_default(tmp_path, engine, search):
    SeismicIndex.build(random_collection(60, seed=7), BuildConfig(n_postings=10)).save(tmp_path)
    state = load_state(tmp_path, vectors_only=True, engine=engine)
    assert state.describe()["search"] == search
    assert state.describe()["search_defaults"]["engine"] == (engine or "seismic")
