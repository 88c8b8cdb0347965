"""Each ranking and distillation loss against a value computed by hand, and its gradient."""

from __future__ import annotations

import math

import pytest
import torch

from lsr.errors import InputError
from lsr.train.losses import DistillKLDivergence, InBatchCrossEntropy, MarginMSE


def test_in_batch_cross_entropy_hand_computed():
    queries = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    # two positives (query order), then one hard negative shared by the batch
    documents = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    # scores: q1 -> (2, 0, 1), q2 -> (0, 1, 1)
    expected = (
        -math.log(math.exp(2) / (math.exp(2) + 1 + math.e)) - math.log(math.e / (1 + 2 * math.e))
    ) / 2
    assert InBatchCrossEntropy()(queries, documents).item() == pytest.approx(expected, rel=1e-6)


def test_in_batch_cross_entropy_scale_multiplies_the_scores():
    queries = torch.tensor([[1.0, 0.0]])
    documents = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # scale 3: scores (3, 0)
    expected = -math.log(math.exp(3) / (math.exp(3) + 1))
    assert InBatchCrossEntropy(scale=3.0)(queries, documents).item() == pytest.approx(expected)


def test_margin_mse_hand_computed():
    scores = torch.tensor([[3.0, 1.0, 2.0]])
    teacher = torch.tensor([[5.0, 4.0, 1.0]])
    # student margins (2, 1), teacher margins (1, 4): ((2-1)^2 + (1-4)^2) / 2
    assert MarginMSE()(scores, teacher).item() == pytest.approx(5.0)


def test_kl_divergence_hand_computed():
    scores = torch.tensor([[0.0, math.log(3.0)]])  # student distribution (1/4, 3/4)
    teacher = torch.tensor([[0.0, 0.0]])  # teacher distribution (1/2, 1/2)
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert DistillKLDivergence()(scores, teacher).item() == pytest.approx(expected, rel=1e-6)


def test_kl_divergence_temperature_divides_both_score_lists():
    scores = torch.tensor([[0.0, 2 * math.log(3.0)]])
    teacher = torch.tensor([[1.0, 1.0]])
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    loss = DistillKLDivergence(temperature=2.0)(scores, teacher)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_kl_divergence_is_zero_when_the_student_matches_the_teacher():
    scores = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, 3.0]])
    assert DistillKLDivergence()(scores, scores.clone()).item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize(
    "loss", [MarginMSE(), DistillKLDivergence(temperature=1.5)], ids=["margin-mse", "kl"]
)
def test_distillation_gradients(loss):
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(3, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    teacher = torch.randn(3, 4, dtype=torch.float64, generator=generator)
    assert torch.autograd.gradcheck(lambda s: loss(s, teacher), (scores,))


def test_in_batch_cross_entropy_gradient():
    generator = torch.Generator().manual_seed(0)
    queries = torch.rand(3, 5, dtype=torch.float64, generator=generator, requires_grad=True)
    documents = torch.rand(5, 5, dtype=torch.float64, generator=generator, requires_grad=True)
    loss = InBatchCrossEntropy(scale=2.0)
    assert torch.autograd.gradcheck(loss, (queries, documents))


@pytest.mark.parametrize(
    "make", [lambda: InBatchCrossEntropy(scale=0), lambda: DistillKLDivergence(temperature=-1)]
)
def test_non_positive_scale_or_temperature_is_refused(make):
    with pytest.raises(InputError, match="must be positive"):
        make()
