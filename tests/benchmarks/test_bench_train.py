"""bench-train's premise, checked small: lsr's objective and the peer's SpladeLoss over
SparseMultipleNegativesRankingLoss give the same loss on the same batch (the measurement itself is
reports/bench-train.md)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SPLADE_TINY, requires_shared

from benchmarks.provenance import record
from benchmarks.train import PEER, first_batch_losses, peak_rss_mb, render, rss_mb, summarise

PEAK_OF_A_CHILD = "from benchmarks.train import peak_rss_mb; print(peak_rss_mb())"


@requires_shared
def test_lsr_and_the_peer_compute_the_same_loss_on_a_batch():
    args = argparse.Namespace(model=SPLADE_TINY, batch_size=4, max_length=32, steps=1)
    ours, theirs = first_batch_losses(args)
    assert ours == pytest.approx(theirs, abs=1e-4)


def test_summary_leaves_out_the_first_step_and_takes_medians():
    runs = [
        {"seconds": [9.0, 1.0, 1.0], "setup_rss_mb": 100.0, "peak_rss_mb": 300.0},
        {"seconds": [9.0, 2.0, 2.0], "setup_rss_mb": 100.0, "peak_rss_mb": 500.0},
        {"seconds": [9.0, 4.0, 4.0], "setup_rss_mb": 100.0, "peak_rss_mb": 400.0},
    ]
    summary = summarise(runs)
    assert summary["rounds_steps_per_s"] == [1.0, 0.5, 0.25]
    assert summary["steps_per_s"] == 0.5
    assert summary["peak_rss_mb"] == 400.0
    assert summary["training_rss_mb"] == 300.0


def test_a_worker_reports_its_own_peak_not_the_driver_s():
    ballast = np.ones(400 * 2**20 // 8)  # the driver holds 400 MB more than the child ever does
    child = subprocess.run(
        [sys.executable, "-c", PEAK_OF_A_CHILD], capture_output=True, text=True, cwd=ROOT
    )
    assert child.returncode == 0, child.stderr
    assert float(child.stdout) < rss_mb() - 300
    assert peak_rss_mb() >= rss_mb() > ballast.nbytes / 2**20


def test_a_float32_only_report_compares_like_with_like():
    stats = {"steps_per_s": 0.5, "rounds_steps_per_s": [0.5], "peak_rss_mb": 900.0}
    result = {
        "provenance": record("python -m benchmarks.train --precisions fp32", allow_dirty=True),
        "settings": {
            "model": "splade-tiny",
            "batch_size": 16,
            "max_length": 256,
            "steps": 10,
            "rounds": 1,
            "precisions": ["fp32"],
        },
        "loss_step0": {"lsr": 0.3, "peer": 0.3, "abs_diff": 0.0},
        "systems": {
            "lsr (float32)": {**stats, "steps_per_s": 1.5, "training_rss_mb": 100.0},
            f"{PEER} (float32)": {**stats, "training_rss_mb": 400.0},
        },
    }
    report = render(result)
    assert "| lsr (float32) | 1.500 | 0.500 | 3.00x |" in report
    # The report's CPU line may name bf16 flags (avx512_bf16, amx_bf16): only its rows must not.
    rows = [line for line in report.splitlines() if line.startswith("|")]
    assert "0.25x |" in report and not any("bf16" in row for row in rows)
    assert "bf16 autocast against float32" not in report
    assert "Precisions measured: float32." in report
