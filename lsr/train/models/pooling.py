"""SPLADE's max pooling, trainable without the (batch x length x vocabulary) logits.

SPLADE (Formal et al., SPLADE v2, 2021, eq. 1-2) weights term j of a text as
``w_j = act(max_i logit_ij)``, ``logit_ij = <t_i, e_j> + b_j``, where act = log(1 + ReLU(x)) is
monotone and so commutes with the max (:mod:`lsr.encoders.pooling` derives the rewrites). Autograd
through the plain formula keeps the whole logits tensor for backward: 32 x 256 x 30,522 float32
is 1 GB per side for a small model. This module's :class:`PooledProjection` runs the forward as
the encoder does (vocabulary chunks, max values only) and its backward uses the derivative of a
max (the gradient of max_i x_i is the indicator of the arg-max):

    dL/dt_bi = sum_{j : argmax_b(j) = i} g_bj e_j,    dL/de_j = sum_b g_bj t_{b, argmax_b(j)},
    dL/db_j = sum_b g_bj,                              g_bj = dL/d(max logit_bj),

over the non-zero g_bj only: after ReLU's derivative these are the text's non-zero terms, a few
hundred of 30,522. The backward finds their arg-max positions again, a few hundred (length x
hidden) products per text, rather than the forward keeping the arg-max of every (text, term).
On splade-tiny with 32 SciFact documents and 8 queries, forward and backward take 0.75x the time
of a forward that kept every arg-max (AMD EPYC Zen 4, one process, interleaved). The
recomputation costs the forward's products times the share of non-zero terms: below the 2,000
mean non-zeros at which :mod:`lsr.train.collapse` stops a run as exploded, under 7%; in a batch
whose every term is non-zero (random states, the worst case) the pair took 1.43x.
"""

from __future__ import annotations

from typing import Any

import torch

from lsr.encoders.pooling import (
    DEFAULT_CHUNK,
    _candidate_columns,
    _chunked_max,
    _padding_as_duplicates,
)


class PooledProjection(torch.autograd.Function):
    """``max_i <states_bi, weight_j> + bias_j`` with a backward through the arg-max only."""

    @staticmethod
    def forward(
        ctx: Any, states: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, chunk: int
    ) -> torch.Tensor:
        device = states.device.type
        # under autocast the products run in its dtype (bf16), as a plain matmul would
        dtype = (
            torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else weight.dtype
        )
        values = _chunked_max(states.to(dtype), weight.to(dtype), chunk).to(weight.dtype)
        ctx.save_for_backward(states, weight)
        ctx.chunk = chunk
        return values + bias.to(weight.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        states, weight = ctx.saved_tensors
        batch, length, hidden = states.shape
        texts, terms = grad.nonzero(as_tuple=True)
        g = grad[texts, terms].unsqueeze(1)
        rows = (
            texts * length + _argmax_positions(states, weight, grad != 0, ctx.chunk)[texts, terms]
        )
        grad_states = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            flat_grad = torch.zeros(batch * length, hidden, dtype=grad.dtype, device=grad.device)
            flat_grad.index_add_(0, rows, g * weight[terms].to(grad.dtype))
            grad_states = flat_grad.view(batch, length, hidden).to(states.dtype)
        if ctx.needs_input_grad[1]:
            picked = states.reshape(batch * length, hidden)[rows].to(grad.dtype)
            grad_weight = torch.zeros(weight.shape, dtype=grad.dtype, device=grad.device)
            grad_weight = grad_weight.index_add_(0, terms, g * picked).to(weight.dtype)
        if ctx.needs_input_grad[2]:
            grad_bias = grad.sum(dim=0)
        return grad_states, grad_weight, grad_bias, None


def _argmax_positions(
    states: torch.Tensor, weight: torch.Tensor, wanted: torch.Tensor, chunk: int
) -> torch.Tensor:
    """(batch, vocabulary): for each ``wanted`` (text, term), the position i of the text's
    largest ``<states_bi, weight_j>`` (the first of equal ones); 0 elsewhere.

    Each text's wanted terms go through batched products, ``chunk`` terms per text at a time, so
    that no product is larger than one of the forward's blocks, however many terms a text has
    (thousands when training starts from a masked LM that was never sparsified). Texts with fewer
    wanted terms are padded as the encoder's screen pads its candidates
    (:func:`lsr.encoders.pooling._candidate_columns`: a padding column repeats a wanted one, and
    so writes the same position twice).
    """
    columns = _candidate_columns(wanted)  # (batch, most wanted per text)
    positions = torch.zeros(wanted.shape, dtype=torch.long, device=states.device)
    for start in range(0, columns.shape[1], chunk):
        part = columns[:, start : start + chunk]
        scores = torch.bmm(states, weight[part].transpose(1, 2))  # (batch, length, part)
        positions.scatter_(1, part, scores.argmax(dim=1))
    return positions


def pooled_logits(
    states: torch.Tensor,
    mask: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    chunk: int = DEFAULT_CHUNK,
) -> torch.Tensor:
    """``max_i logit_ij`` over each text's real positions (``mask``), shape (batch, vocabulary).

    Padding positions become copies of the text's first state (a duplicate cannot change a max,
    as in :mod:`lsr.encoders.pooling`); the copy is differentiable, so a gradient that lands on a
    padding position flows back to the first position.
    """
    states = _padding_as_duplicates(states, mask.bool())
    return PooledProjection.apply(states, weight, bias, chunk)
