"""Ranking and distillation losses: each a small module over the student's scores.

Every loss takes ``scores`` of shape (batch, documents): the student's score of each query against
each candidate document, column 0 being the query's positive (in-batch cross-entropy scores every
query against every document of the batch; the distillation losses against the query's own
documents, the order of :attr:`lsr.train.examples.TrainingExample.scores`).
"""

from lsr.train.losses.contrastive import InBatchCrossEntropy
from lsr.train.losses.kl_divergence import DistillKLDivergence
from lsr.train.losses.margin_mse import MarginMSE

__all__ = ["DistillKLDivergence", "InBatchCrossEntropy", "MarginMSE"]
