"""Sparsity regularizers over a batch of sparse vectors ``weights`` (batch, vocabulary), and the
schedule that warms their lambda up. See :mod:`lsr.train.regularizers.flops` for how lambda
scales with the batch size."""

from lsr.train.regularizers.flops import flops, idf_flops
from lsr.train.regularizers.l0_mask import l0_mask
from lsr.train.regularizers.l1 import l1
from lsr.train.regularizers.warmup import QuadraticWarmup

__all__ = ["QuadraticWarmup", "flops", "idf_flops", "l0_mask", "l1"]
