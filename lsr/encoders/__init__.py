"""Sparse encoders: SPLADE (siamese), MLP term weighting, binary token sets, inference-free
SPLADE, per-side combinations and BM25, behind one interface.

``load(path_or_id)`` reads a model folder's ``lsr.json`` to build the right encoder; a plain
Hugging Face masked-LM folder or hub id (no ``lsr.json``) loads as a :class:`SpladeEncoder`.
"""

from __future__ import annotations

from lsr.encoders.base import Encoder
from lsr.encoders.binary import BinaryEncoder
from lsr.encoders.bm25 import Bm25Encoder
from lsr.encoders.inference_free import InferenceFreeEncoder
from lsr.encoders.loading import load
from lsr.encoders.mlp import MlpEncoder
from lsr.encoders.per_side import PerSideEncoder
from lsr.encoders.splade import SpladeEncoder

__all__ = [
    "BinaryEncoder",
    "Bm25Encoder",
    "Encoder",
    "InferenceFreeEncoder",
    "MlpEncoder",
    "PerSideEncoder",
    "SpladeEncoder",
    "load",
]
