"""Each sparsity regularizer against a value computed by hand, its gradient, and the warm-up."""

from __future__ import annotations

import pytest
import torch

from lsr.errors import InputError
from lsr.train.regularizers import QuadraticWarmup, flops, idf_flops, l0_mask, l1
from lsr.train.regularizers.warmup import batch_scale

WEIGHTS = torch.tensor([[1.0, 0.0, 2.0], [3.0, 0.0, 0.0]])


def test_flops_hand_computed():
    # column means (2, 0, 1): 4 + 0 + 1
    assert flops(WEIGHTS).item() == pytest.approx(5.0)


def test_idf_flops_weights_each_column_by_its_idf():
    idf = torch.tensor([1.0, 5.0, 0.5])
    # idf-weighted rows (1, 0, 1), (3, 0, 0): column means (2, 0, 0.5): 4 + 0 + 0.25
    assert idf_flops(WEIGHTS, idf).item() == pytest.approx(4.25)


def test_masked_idf_flops_is_shen_et_al_formula_by_hand():
    # sum_j (1/N sum_i M(d_i) w(d_i)_j IDF_j)^2 with M = 1[nnz > 1]: only row 0 (nnz 2) counts;
    # its idf-weighted row (1, 0, 1) summed and divided by N = 2: 0.25 + 0 + 0.25
    idf = torch.tensor([1.0, 5.0, 0.5])
    assert idf_flops(WEIGHTS, idf, l0_mask(WEIGHTS, threshold=1)).item() == pytest.approx(0.5)


def test_idf_flops_gradient_by_hand():
    # d/dw_ij sum_j (1/B sum_i idf_j |w_ij|)^2 = 2 idf_j^2 (1/B sum_i |w_ij|) / B where w_ij > 0
    # (0 where w_ij = 0: |w| has no slope there in torch): column means (2, 0.25, 1), B = 2,
    # idf^2 (1, 25, 0.25): 2, 6.25 and 0.25
    weights = torch.tensor([[1.0, 0.5, 2.0], [3.0, 0.0, 0.0]], requires_grad=True)
    idf_flops(weights, torch.tensor([1.0, 5.0, 0.5])).backward()
    expected = torch.tensor([[2.0, 6.25, 0.25], [2.0, 0.0, 0.0]])
    assert torch.allclose(weights.grad, expected)


def test_l0_mask_keeps_rows_above_the_threshold():
    # non-zeros per row: 2 and 1
    assert l0_mask(WEIGHTS, threshold=1).tolist() == [True, False]
    assert l0_mask(WEIGHTS, threshold=0).tolist() == [True, True]


def test_masked_flops_sums_kept_rows_but_divides_by_the_batch():
    mask = l0_mask(WEIGHTS, threshold=1)
    # only row 1 counts: column sums (1, 0, 2), divided by B = 2: 0.25 + 0 + 1
    assert flops(WEIGHTS, mask).item() == pytest.approx(1.25)


def test_l1_hand_computed():
    assert l1(WEIGHTS).item() == pytest.approx(3.0)  # row norms 3 and 3


@pytest.mark.parametrize(
    "regularizer",
    [
        flops,
        l1,
        lambda w: idf_flops(w, torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=torch.float64)),
        lambda w: flops(w, torch.tensor([True, False, True])),
    ],
    ids=["flops", "l1", "idf-flops", "masked-flops"],
)
def test_regularizer_gradients(regularizer):
    # strictly positive entries: |w| is differentiable there, as SPLADE weights are where non-zero
    weights = torch.rand(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    weights = (weights + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(regularizer, (weights,))


@pytest.mark.parametrize(
    ("step", "expected"), [(0, 0.0), (5, 0.25), (10, 1.0), (25, 1.0), (3, 0.09)]
)
def test_quadratic_warmup(step, expected):
    assert QuadraticWarmup(1.0, warmup_steps=10)(step) == pytest.approx(expected)


def test_warmup_of_zero_steps_is_full_strength():
    assert QuadraticWarmup(3e-4, warmup_steps=0)(0) == pytest.approx(3e-4)


def test_negative_lambda_is_refused():
    with pytest.raises(InputError, match="lambda"):
        QuadraticWarmup(-1.0, 10)


def test_batch_scale_is_relative_to_the_reference_batch():
    assert batch_scale(16, 32) == 0.5
