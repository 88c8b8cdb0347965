"""The train-memory profile's two instruments, each against a known allocation: the storages
autograd saves, and the RSS peak of a phase."""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.train import rss_mb
from benchmarks.train_memory import PhasePeaks, SavedTensors


def test_saved_tensors_count_each_saved_storage_once_and_leave_out_parameters():
    weight = torch.nn.Parameter(torch.ones(1000))
    saved = SavedTensors()
    with saved.counting():
        hidden = torch.exp(weight * 2.0)  # mul saves nothing of a constant; exp saves its output
        (hidden * hidden).sum()  # saves `hidden` twice: one storage
    summary = saved.summary({weight.untyped_storage().data_ptr()})
    assert summary["saved_mb"] * 2**20 == 4000
    assert summary["largest"] == [{"mb": 4000 / 2**20, "shape": [1000]}]


def test_a_phase_peak_sees_memory_freed_before_the_phase_ends():
    peaks = PhasePeaks(interval=0.001)
    before = rss_mb()
    with peaks.during("allocate"):
        block = np.ones(200 * 2**20 // 8)  # 200 MB, touched
        time.sleep(0.2)  # the sampler's turn, on a loaded machine too
        del block
    assert peaks.peaks["allocate"] - before > 150
