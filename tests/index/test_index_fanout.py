import gc
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsr.index.fanout import FanOut


def _workers(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_part_zero_runs_in_the_calling_thread_the_others_each_in_a_worker():
    fan_out = FanOut("test-part")
    threads = fan_out.map(lambda part: threading.get_ident(), 3)
    assert threads[0] == threading.get_ident()
    assert len(set(threads)) == 3
    fan_out.close()


def test_no_part_and_one_part_need_no_worker():
    fan_out = FanOut("test-part")
    assert fan_out.map(lambda part: part, 0) == []
    assert fan_out.map(lambda part: threading.get_ident(), 1) == [threading.get_ident()]
    assert fan_out._idle == []


def test_the_parts_run_at_once():
    """Each part waits for all the others: only parts running concurrently get past it."""
    barrier = threading.Barrier(3, timeout=10)
    fan_out = FanOut("test-part")
    assert fan_out.map(lambda part: (barrier.wait(), part)[1], 3) == [0, 1, 2]
    fan_out.close()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=6))
def test_callers_in_many_threads_each_get_their_own_answers(sizes):
    """Callers at once, each fanning out over its own number of parts, get their own results
    in part order, and workers are reused: never more than the calls at once needed."""
    fan_out = FanOut("test-part")
    start = threading.Barrier(len(sizes), timeout=10)
    got: dict[int, list] = {}

    def caller(number: int, n: int) -> None:
        start.wait()
        for _ in range(20):
            got[number] = fan_out.map(lambda part: (number, part), n)

    callers = [threading.Thread(target=caller, args=(i, n)) for i, n in enumerate(sizes)]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join()
    assert got == {i: [(i, part) for part in range(n)] for i, n in enumerate(sizes)}
    assert len(fan_out._idle) <= sum(n - 1 for n in sizes)
    fan_out.close()


def test_a_workers_exception_is_raised_in_the_caller_after_every_part_ended():
    fan_out = FanOut("test-part")
    ended = []

    def search(part: int) -> int:
        if part == 1:
            raise ValueError("part 1")
        time.sleep(0.05)
        ended.append(part)
        return part

    with pytest.raises(ValueError, match="part 1"):
        fan_out.map(search, 3)
    assert sorted(ended) == [0, 2]
    assert fan_out.map(lambda part: part, 3) == [0, 1, 2]  # the workers serve again
    fan_out.close()


def test_part_zeros_exception_wins_and_the_workers_are_waited_for():
    fan_out = FanOut("test-part")
    ended = []

    def search(part: int) -> int:
        if part == 0:
            raise KeyError("part 0")
        time.sleep(0.05)
        ended.append(part)
        raise ValueError(f"part {part}")

    with pytest.raises(KeyError, match="part 0"):
        fan_out.map(search, 3)
    assert sorted(ended) == [1, 2]
    assert len(fan_out._idle) == 2
    fan_out.close()


def _wait_for_no_workers(name: str) -> None:
    deadline = time.monotonic() + 30
    while _workers(name) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_close_ends_the_workers():
    fan_out = FanOut("test-close")
    fan_out.map(lambda part: part, 4)
    assert len(_workers("test-close")) == 3
    fan_out.close()
    _wait_for_no_workers("test-close")
    assert _workers("test-close") == []


def test_a_worker_of_a_call_running_when_closed_ends_when_the_call_returns():
    fan_out = FanOut("test-running")
    closed = threading.Event()

    def search(part: int) -> int:
        if part == 1:
            closed.wait(10)
        return part

    caller = threading.Thread(target=fan_out.map, args=(search, 2))
    caller.start()
    while not _workers("test-running"):
        time.sleep(0.001)
    fan_out.close()
    closed.set()
    caller.join()
    _wait_for_no_workers("test-running")
    assert _workers("test-running") == []


def test_a_collected_fan_out_ends_its_workers():
    fan_out = FanOut("test-collected")
    fan_out.map(lambda part: part, 3)
    del fan_out
    gc.collect()
    _wait_for_no_workers("test-collected")
    assert _workers("test-collected") == []
