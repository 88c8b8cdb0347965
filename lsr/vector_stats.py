"""Summary statistics of a vector file, computed in one streaming pass."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lsr.vector_io import iter_vectors, read_metadata


@dataclass(frozen=True)
class VectorStats:
    """What `lsr vectors stats` prints.

    ``flops`` is the expected number of multiplications of one query-document dot product when
    queries and documents share this distribution, ``sum_j p_j^2`` with ``p_j`` the fraction of
    vectors in which term ``j`` is non-zero (Paria et al., ICLR 2020, "Minimizing FLOPs to learn
    efficient sparse representations", the quantity SPLADE's FLOPS regulariser relaxes).
    """

    count: int
    nnz_total: int
    nnz_mean: float
    nnz_p50: float
    nnz_p99: float
    nnz_max: int
    distinct_terms: int
    vocab_size: int
    flops: float
    file_bytes: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def vector_stats(path: str | os.PathLike) -> VectorStats:
    path = Path(path)
    metadata = read_metadata(path)
    df = np.zeros(metadata.vocab_size, dtype=np.int64)
    lengths = []
    for part in iter_vectors(path):
        df += np.bincount(part.indices, minlength=metadata.vocab_size)
        lengths.append(part.lengths())
    nnz = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    count = len(nnz)
    p = df / max(count, 1)
    return VectorStats(
        count=count,
        nnz_total=int(nnz.sum()),
        nnz_mean=float(nnz.mean()) if count else 0.0,
        nnz_p50=float(np.percentile(nnz, 50)) if count else 0.0,
        nnz_p99=float(np.percentile(nnz, 99)) if count else 0.0,
        nnz_max=int(nnz.max()) if count else 0,
        distinct_terms=int(np.count_nonzero(df)),
        vocab_size=metadata.vocab_size,
        flops=float(np.sum(p * p)),
        file_bytes=path.stat().st_size,
    )
