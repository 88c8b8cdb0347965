"""Shared test fixtures: where ../shared lives, and a marker for tests that need it.

Tests that read real models or collections skip only when ../shared is absent (a checkout
outside this workplace); anywhere it exists they run, so no failure can hide behind a skip.

The session runs Numba with two threads, set here because pytest reads this file before any
test module imports numba (which reads the variable once, at import): the parallel kernels
(``prange`` loops of the index build and batch search) then take their parallel paths even on a
one-core machine, where Numba would default to one thread and test only the serial ones.
``tests/index/test_index_parallel.py`` checks that the setting took effect.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

NUMBA_TEST_THREADS = 2
os.environ["NUMBA_NUM_THREADS"] = str(NUMBA_TEST_THREADS)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"
SPLADE_TINY = SHARED / "models" / "splade-tiny"

# Dataset names in tests (``scifact``, ``scifact/train``) resolve on the data search path, as a
# user's do through $LSR_DATA; lsr itself never looks in ../shared by default.
if SHARED_DATA.exists():
    os.environ.setdefault("LSR_DATA", str(SHARED_DATA))

requires_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared is absent")


def dense(collection, vocab_size: int) -> np.ndarray:
    """A sparse collection as a dense (documents x vocabulary) array, to compare encoders'
    outputs with a plain torch computation of the same vectors."""
    out = np.zeros((len(collection), vocab_size), dtype=np.float32)
    for i in range(len(collection)):
        terms, weights = collection.row(i)
        out[i, terms] = weights
    return out


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for ``make test``'s processes (pytest-xdist ``--dist loadgroup``): a module's tests
    run in one process, so its module-scoped fixtures (built indexes, servers) are made once,
    and every test marked ``ray`` in one process, so one Ray runtime serves them all (two would
    each claim both CPUs). First of the hooks: xdist reads the groups in a hook of its own
    (``WorkerInteractor.pytest_collection_modifyitems``), which pluggy otherwise calls before
    a conftest's, when no test has a group yet."""
    for item in items:
        group = "ray" if item.get_closest_marker("ray") else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def restore_torch_threads():
    """Give torch's thread count back after every test: a command run in process
    (``--threads N``) sets it for the whole process, and a later test's matrix products would
    then sum in another order and differ in the last float bit from a server's, which runs at
    its own setting: an order-dependent failure."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def ray_runtime():
    """One local Ray runtime for every test that needs it (starting one takes seconds). Ray is
    in the dev extra, so a missing ray is an install failure, never a skip."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
