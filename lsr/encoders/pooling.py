"""SPLADE max pooling over the vocabulary projection, computed without the full logits tensor.

SPLADE (Formal et al., SPLADE v2, 2021, eq. 1-2) weights vocabulary term j of a text as

    w_j = max_i log(1 + ReLU(logit_ij)),    logit_ij = <t_i, e_j> + b_j,

over the text's non-padding positions i, where t_i is the MLM head's transformed hidden state
and (e_j, b_j) the output embedding and bias of term j. The projection (hidden x vocabulary per
token: 128 x 30,522 for splade-tiny) is nearly all of the cost, so this module computes the same
weights with three exact rewrites:

1. ``log(1 + ReLU(x))`` is monotone non-decreasing, so it commutes with the max: pool the raw
   logits, then apply the activation once per (text, term) instead of once per (token, term).
2. The bias does not depend on i, so it is added after the max.
3. The projection runs in vocabulary chunks, so a chunk's (tokens x chunk) block stays in cache
   and the (batch x length x vocabulary) float32 tensor is never materialised; :func:`chunk_for`
   sizes the chunks by the batch's tokens (512 columns for 32 documents, the whole vocabulary
   for a single query, where the chunk loop would cost more than the projection). Padding positions
   are replaced by a copy of the text's first state: a duplicate cannot change a max, and the
   block can be max-reduced as a regular (batch, length, chunk) array. Batches are sorted by
   length upstream, so the duplicated positions cost little.

Optionally (``screen=True``), an int8 projection (VNNI dot products: about twice as fast as
bfloat16 here, on half the bytes) first finds each text's terms whose maximum logit can be
positive (a few tenths of a percent of the vocabulary); only those are recomputed in float32.
The screen is exact, not approximate. Each term row is quantized with its own scale,
e_j = s_j q_j + d_j, and each text's states with one scale per text, t_i = s q_i + r_i (one
scale, so that the max over positions can be taken on the integer products before scaling).
Then, exactly,

    <t_i, e_j> = s s_j <q_i, q_j> + s_j <r_i, q_j> + <t_i, d_j>,

and by Cauchy-Schwarz the last two terms are at most |r_i| s_j |q_j| + |t_i| |d_j|, which the
screen adds as a margin, with the float32 rounding of the exact logit on top: at most about
hidden * 2^-24 |t_i| |e_j| for the product (Higham, Accuracy and Stability of Numerical
Algorithms, 2002, ch. 3), and as much of |b_j| for adding the bias (a text whose logits are small
beside a large bias rounds by the bias's last bit). A term whose screened maximum plus margin is
not positive cannot have a positive float32 logit, and its weight is exactly 0. The integer
products are exact (|q| <= 127, int32 sums).
On splade-tiny's SciFact queries the int8 screen keeps 83 candidates (median) where the earlier
bfloat16 screen, whose rounding bound is 3 * 2^-8 |t_i| |e_j|, kept 230 (47 are positive).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# 512 columns: a (tokens x 512) float32 block of a 32 x 256 batch is 16 MB, and profiling
# splade-tiny on SciFact gave the best throughput from 256 to 512 (CPU time, one thread).
DEFAULT_CHUNK = 512
# Symmetric int8 quantization: the largest magnitude of a row (or a text) maps to 127.
INT8_LEVELS = 127
# Unit roundoff of float32 times 2 (the screen's slack per hidden dimension and per operation).
FLOAT32_SLACK = 2.0**-23
# A block of DEFAULT_CHUNK columns for a batch of 32 documents of 256 tokens: the number of
# elements per block that the chunk above was measured at.
BLOCK_ELEMENTS = 32 * 256 * DEFAULT_CHUNK


@dataclass(frozen=True)
class Projection:
    """The MLM head's output layer, with what the fast paths precompute from it once."""

    # Row-major (vocabulary, hidden), as nn.Linear keeps it: a chunk of terms is a contiguous
    # slice, the screen gathers rows, and ``linear(x, W)`` ran 10-20% faster here than ``x @ W.T``
    # made contiguous (a 21-token query: 0.44 against 0.55 ms in bfloat16, CPU time).
    weight: torch.Tensor  # float32
    bias: torch.Tensor  # (vocabulary,), float32
    weight_int8: torch.Tensor  # q_j, the screen's copy (vocabulary, hidden)
    row_scales: torch.Tensor  # s_j, (vocabulary,)
    quantized_norms: torch.Tensor  # s_j |q_j|, the margin's factor of |r_i|
    residual_norms: torch.Tensor  # |d_j| + the float32 slack, the margin's factor of |t_i|
    screen_bias: torch.Tensor  # b_j + the float32 slack of adding it, the screen's bias

    @property
    def vocab_size(self) -> int:
        return self.weight.shape[0]

    @classmethod
    def of(cls, layer: torch.nn.Linear) -> Projection:
        weight = layer.weight.detach().float().contiguous()
        bias = layer.bias
        bias = (
            torch.zeros(weight.shape[0], device=weight.device)
            if bias is None
            else bias.detach().float()
        )
        quantized, scales = _quantize(weight, weight.abs().amax(dim=1, keepdim=True))
        dequantized = quantized.float() * scales
        slack_factor = (weight.shape[1] + 4) * FLOAT32_SLACK
        slack = slack_factor * torch.linalg.vector_norm(weight, dim=1)
        return cls(
            weight=weight,
            bias=bias.contiguous(),
            weight_int8=quantized,
            row_scales=scales.squeeze(1),
            quantized_norms=torch.linalg.vector_norm(dequantized, dim=1),
            residual_norms=torch.linalg.vector_norm(weight - dequantized, dim=1) + slack,
            screen_bias=(bias + slack_factor * bias.abs()).contiguous(),
        )


def _quantize(values: torch.Tensor, magnitudes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 codes of ``values`` and their scales, shaped as ``magnitudes``: the largest
    absolute value of each group of values that shares a scale (reduced with keepdim); a group
    of zeros gets scale 1."""
    scales = torch.where(magnitudes > 0, magnitudes / INT8_LEVELS, 1.0)
    codes = torch.round(values / scales).clamp_(-INT8_LEVELS, INT8_LEVELS)
    return codes.to(torch.int8), scales


def chunk_for(n_tokens: int) -> int:
    """Vocabulary columns per projection block for a batch of ``n_tokens`` token states.

    Few tokens (a query batch, a single query) would split the projection into ~60 matmuls too
    small to amortise their dispatch (a 21-token query: 2.1 ms in 512-column chunks against
    0.66 ms in one bfloat16 block, CPU time); blocks are widened to the elements of a document
    batch's block, which keeps the block's memory bounded whatever the batch.
    """
    return max(DEFAULT_CHUNK, BLOCK_ELEMENTS // max(n_tokens, 1))


def splade_activation(max_logits: torch.Tensor) -> torch.Tensor:
    """``log(1 + ReLU(x))`` (SPLADE's saturation), applied once to the pooled logits."""
    return torch.log1p(torch.relu(max_logits))


def l0_activation(max_logits: torch.Tensor) -> torch.Tensor:
    """``log(1 + log(1 + ReLU(x)))`` (Shen et al., "Exploring l0 Sparsification for
    Inference-free Sparse Retrievers", SIGIR 2025, sec. 3.2): a second saturation flattens large
    weights, so that a FLOPS penalty acts more on how many terms are non-zero than on their size.
    Monotone too, so it commutes with the max like :func:`splade_activation`."""
    return torch.log1p(splade_activation(max_logits))


# name -> activation, the ``activation`` option of SPLADE encoders and of ``lsr train``
ACTIVATIONS = {"splade": splade_activation, "l0": l0_activation}


def _padding_as_duplicates(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Replace every padding state by the text's first state (a duplicate leaves a max unchanged)."""
    return torch.where(mask.unsqueeze(-1), states, states[:, :1])


def _chunked_max(
    states: torch.Tensor, weight: torch.Tensor, chunk: int, matmul: Callable = torch.mm
) -> torch.Tensor:
    """``max_i <states_bi, weight_j>`` for every text b and term j, a vocabulary chunk at a time
    (``matmul(x, w.T, out=block)``; int8 codes are summed in int32).

    Every chunk's product is written into one block allocated once per call. A fresh (tokens x
    chunk) tensor per chunk (16 MB for 32 documents of 256 tokens) goes back to the operating
    system when freed and is page-faulted in again by the next chunk: the products ran 1.5x
    slower that way (splade-tiny over 320 SciFact documents, 9.3-10.0 s against 6.3-6.9 s, AMD
    EPYC Zen 4). The max over positions runs on the (text, position, term) view, as ``amax``
    over its middle axis (faster here than a max over the last axis of the transposed product).
    """
    batch, length, hidden = states.shape
    rows, vocab = batch * length, weight.shape[0]
    dtype = torch.int32 if states.dtype == torch.int8 else states.dtype
    flat = states.reshape(rows, hidden)
    width = min(chunk, vocab)
    block = torch.empty(rows * width, dtype=dtype, device=states.device)
    pooled = torch.empty(batch, vocab, dtype=dtype, device=states.device)
    for start in range(0, vocab, width):
        terms = weight[start : start + width]
        product = block[: rows * len(terms)].view(rows, len(terms))
        matmul(flat, terms.t(), out=product)
        torch.amax(product.view(batch, length, -1), dim=1, out=pooled[:, start : start + width])
    return pooled


def _int8_matmul(codes: torch.Tensor, weight_t: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``codes @ weight_t`` of int8 matrices, summed exactly in int32 into ``out``."""
    if codes.shape[1] == 1:  # torch 2.13's CPU _int_mm answers zeros for one column (tested)
        return torch.mm(codes.int(), weight_t.int(), out=out)
    return torch._int_mm(codes, weight_t, out=out)


def max_logits(
    states: torch.Tensor,
    mask: torch.Tensor,
    projection: Projection,
    chunk: int = DEFAULT_CHUNK,
    screen: bool = False,
) -> torch.Tensor:
    """``max_i logit_ij`` over the non-padding positions of each text, shape (batch, vocabulary).

    ``states`` are the MLM head's transformed states (batch, length, hidden), float32; ``mask``
    marks real tokens (batch, length), every text having at least one. With ``screen`` the
    entries whose maximum is certainly not positive are 0 instead of their (negative) value,
    which changes nothing after :func:`splade_activation`.
    """
    states = _padding_as_duplicates(states, mask.bool())
    if not screen:
        return _chunked_max(states, projection.weight, chunk) + projection.bias
    return _screened_max(states, projection, chunk)


def screen_bounds(states: torch.Tensor, projection: Projection, chunk: int) -> torch.Tensor:
    """An upper bound (batch, vocabulary) on every text's float32 maximum logit of every term,
    from the int8 products and the margin derived in the module's docstring."""
    codes, scales = _quantize(states, states.abs().amax(dim=(1, 2), keepdim=True))
    errors = states - codes.float() * scales
    error_norms = torch.linalg.vector_norm(errors, dim=-1).amax(dim=1)  # max_i |r_i|, (batch,)
    token_norms = torch.linalg.vector_norm(states, dim=-1).amax(dim=1)  # max_i |t_i|
    products = _chunked_max(codes, projection.weight_int8, chunk, _int8_matmul)
    bound = products.float().mul_(scales.view(-1, 1)).mul_(projection.row_scales)
    bound += projection.screen_bias
    bound.addcmul_(error_norms[:, None], projection.quantized_norms)
    return bound.addcmul_(token_norms[:, None], projection.residual_norms)


def candidate_max_logits(
    states: torch.Tensor, mask: torch.Tensor, projection: Projection, chunk: int = DEFAULT_CHUNK
) -> tuple[torch.Tensor, torch.Tensor]:
    """The int8 screen's candidate terms of each text and their exact maximum logits, both
    (batch, most candidates per text), columns as :func:`_candidate_columns` lays them out.

    Every term outside a text's candidates has a maximum logit <= 0 (its weight is 0), so a
    single text's sparse vector comes from these alone, without the dense (1, vocabulary) row
    that :func:`max_logits` fills from them. Arguments as :func:`max_logits`'.
    """
    return _screened_candidates(_padding_as_duplicates(states, mask.bool()), projection, chunk)


def _screened_candidates(
    states: torch.Tensor, projection: Projection, chunk: int
) -> tuple[torch.Tensor, torch.Tensor]:
    columns = _candidate_columns(screen_bounds(states, projection, chunk) > 0)
    # Each text's candidates only (a few percent of the vocabulary), in one batched matmul.
    rows = projection.weight[columns]  # (batch, candidates, hidden)
    exact = torch.bmm(states, rows.transpose(1, 2)).amax(dim=1) + projection.bias[columns]
    return columns, exact


def _screened_max(states: torch.Tensor, projection: Projection, chunk: int) -> torch.Tensor:
    columns, exact = _screened_candidates(states, projection, chunk)
    out = states.new_zeros(states.shape[0], projection.vocab_size)
    return out.scatter_(1, columns, exact)


def _candidate_columns(candidates: torch.Tensor) -> torch.Tensor:
    """Column ids of each row's True entries, as a (batch, most per row) tensor.

    Shorter rows are padded with their own first column (column 0 for a row without any):
    recomputing a column twice writes the same exact value twice, and a column that is not a
    candidate gets its exact value, which is correct too (its weight is 0 after the
    activation). Built from the True entries alone, in time linear in their number: sorting
    every row (30,522 columns) cost more than the rest of a single query's screen.
    """
    if candidates.shape[0] == 1:  # a single text (a query): no row to pad, 65 -> 26 us
        return candidates.nonzero()[:, 1][None]
    rows, columns = candidates.nonzero(as_tuple=True)  # row-major: each row's columns ascending
    counts = torch.bincount(rows, minlength=candidates.shape[0])
    width = int(counts.max()) if len(rows) else 0
    out = torch.zeros(candidates.shape[0], width, dtype=torch.long, device=candidates.device)
    if width == 0:
        return out
    starts = torch.cumsum(counts, 0) - counts
    first = columns[starts.clamp(max=len(columns) - 1)]
    out[:] = torch.where(counts > 0, first, 0)[:, None]
    out[rows, torch.arange(len(rows), device=rows.device) - starts[rows]] = columns
    return out


def prune(weights: torch.Tensor, top_k: int | None, threshold: float) -> torch.Tensor:
    """Zero the weights at or below ``threshold``, then all but the ``top_k`` largest per row.

    Top-k pruning of document vectors is the usual way to make SPLADE cheaper to index and search
    (e.g. Formal et al., SPLADE v2, 2021; Bruch et al., Seismic, SIGIR 2024, keep the top terms).
    """
    if threshold > 0:
        weights = torch.where(weights > threshold, weights, 0.0)
    if top_k is not None and top_k < weights.shape[1]:
        kept = torch.topk(weights, top_k, dim=1)
        weights = torch.zeros_like(weights).scatter_(1, kept.indices, kept.values)
    return weights
