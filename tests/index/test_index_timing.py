"""index.timing: the fastest of interleaved rounds, by the clock asked for."""

from __future__ import annotations

import time

from lsr.index.timing import fastest


def test_fastest_keeps_each_runs_minimum_over_the_rounds_by_the_given_clock():
    ticks = iter([0, 5, 5, 7, 7, 10, 10, 20])  # round 1: a 5, b 2; round 2: a 3, b 10
    assert fastest([lambda: None, lambda: None], 2, clock=lambda: next(ticks)) == [3, 2]


def test_process_time_does_not_count_sleeping():
    wall = fastest([lambda: time.sleep(0.05)], 1)[0]
    cpu = fastest([lambda: time.sleep(0.05)], 1, clock=time.process_time)[0]
    assert wall >= 0.05 > 0.02 > cpu
