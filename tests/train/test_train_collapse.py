"""The collapse guard and the per-batch sparsity statistics it reads."""

from __future__ import annotations

import pytest
import torch

from lsr.train.collapse import CollapseGuard, TrainingCollapse
from lsr.train.sparsity import SparsityStats


def test_sparsity_stats_hand_computed():
    stats = SparsityStats.of(torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]]))
    assert stats.mean_nnz == 1.0
    assert stats.empty_share == 0.5
    assert stats.flops == pytest.approx(0.5)  # term usage (1/2, 0, 1/2)


def test_empty_queries_stop_the_run_naming_lambda_q():
    guard = CollapseGuard(patience=2)
    empty = SparsityStats(mean_nnz=0.0, empty_share=1.0, flops=0.0)
    guard.check(1, "queries", empty)
    with pytest.raises(TrainingCollapse, match="lower lambda_q"):
        guard.check(2, "queries", empty)


def test_exploding_documents_stop_the_run_naming_lambda_d():
    guard = CollapseGuard(max_mean_nnz=100, patience=1)
    with pytest.raises(TrainingCollapse, match="raise lambda_d"):
        guard.check(7, "documents", SparsityStats(mean_nnz=500.0, empty_share=0.0, flops=9.0))


def test_a_healthy_step_resets_the_streak():
    guard = CollapseGuard(patience=2)
    empty = SparsityStats(mean_nnz=0.0, empty_share=1.0, flops=0.0)
    healthy = SparsityStats(mean_nnz=30.0, empty_share=0.0, flops=1.0)
    for step in range(5):
        guard.check(step, "documents", empty if step % 2 == 0 else healthy)
