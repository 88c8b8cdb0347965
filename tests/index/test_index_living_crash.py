"""``kill -9`` at random moments of add / update / delete / merge: the index left behind always
opens, holds exactly the documents of the last operation done or of the one after it (nothing
half-applied), and searches them exactly; the next writer carries on from it.

Writers run in processes forked from a forkserver that imported lsr and loaded its kernels once
(``living_crash_server``), so that a kill costs milliseconds, not an interpreter start: hundreds
fit in a minute. A writer is killed 0-80 ms after it starts, while it runs its 4 operations
(10-40 ms each here), in any of their steps.
"""

import multiprocessing
import time
from pathlib import Path

import numpy as np
import pytest
from living_crash_worker import CONFIG, EXACT_MAX, run
from living_model import METADATA, check_search, contents, model_of, vectors
from lsr.index.living import LivingIndex
from lsr.index.segmented import SegmentedIndex

IDS = [f"d{i}" for i in range(80)]


def random_ops(rng: np.random.Generator, model: dict, n: int) -> list[tuple]:
    ops = []
    for _ in range(n):
        kind = rng.choice(["add", "add", "delete", "merge"])
        if kind == "add":
            ids = rng.choice(IDS, size=int(rng.integers(1, 12)), replace=False).tolist()
            ops.append(("add", ids, int(rng.integers(2**31))))
        elif kind == "delete":
            ops.append(("delete", rng.choice(IDS, size=int(rng.integers(1, 10))).tolist()))
        else:
            ops.append(("merge", int(rng.integers(1, 3))))
    return ops


def model_after(model: dict, op: tuple) -> dict:
    kind, *args = op
    if kind == "add":
        return model | model_of(vectors(*args))
    if kind == "delete":
        return {d: v for d, v in model.items() if d not in set(args[0])}
    return model


def kill_writers(directory, kills: int, seconds: float, seed: int) -> int:
    """Start writers on ``directory`` and kill each at a random moment, ``kills`` times or for
    ``seconds``; check the index after each. Returns the number of kills."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["living_crash_server"])
    rng = np.random.default_rng(seed)
    LivingIndex.open(directory, METADATA, CONFIG, exact_max_docs=EXACT_MAX).close()
    model: dict = {}
    deadline = time.monotonic() + seconds
    # No lock: a writer killed while holding a Value's lock would leave every later read of
    # it waiting forever (a hang seen in CI); one aligned int is written whole without it.
    done = context.Value("i", 0, lock=False)
    killed = 0
    while killed < kills and time.monotonic() < deadline:
        ops = random_ops(rng, model, 4)
        states = [model]
        for op in ops:
            states.append(model_after(states[-1], op))
        done.value = -1
        writer = context.Process(target=run, args=(str(directory), ops, done))
        writer.start()
        while done.value < 0 and writer.is_alive():
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.08))
        writer.kill()
        writer.join()
        killed += writer.exitcode == -9
        reader = SegmentedIndex.load(directory)
        found = contents(reader)
        n = done.value
        assert found in (states[n], states[min(n + 1, len(ops))]), f"after {n} of {ops}"
        check_search(reader, found, k=4)
        model = found
    return killed


@pytest.fixture(autouse=True)
def forkserver_path(monkeypatch):
    """The forkserver imports its preload modules before it applies the parent's sys.path
    (Python 3.11), so it finds this folder's helpers through PYTHONPATH."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))


def test_kill_nine_leaves_the_last_commit_whole(tmp_path):
    assert kill_writers(tmp_path / "index", kills=150, seconds=45, seed=1) >= 60


@pytest.mark.slow
def test_kill_nine_more_often(tmp_path):
    assert kill_writers(tmp_path / "index", kills=300, seconds=55, seed=2) >= 100
