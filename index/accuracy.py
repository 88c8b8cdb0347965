"""How close approximate search comes to exact search.

accuracy@k (Seismic, Bruch et al., SIGIR 2024, Section 5): the fraction of the exact top-k that
the approximate top-k also returns, averaged over queries,
``mean_q |A_k(q) ∩ E_k(q)| / |E_k(q)|``. A query whose exact top-k is empty counts as 1.
It lives in the index package because the index tunes itself by it (:mod:`index.tuning`);
:mod:`lsr.eval.approximation` reports it.
"""

from __future__ import annotations

import numpy as np
from lsr.index.results import SearchResults


def accuracy_per_query(approximate: SearchResults, exact: SearchResults, k: int = 10) -> np.ndarray:
    """``|A_k(q) ∩ E_k(q)| / |E_k(q)|`` of each query (the queries must be the same)."""
    if approximate.query_ids != exact.query_ids:
        raise ValueError("approximate and exact results must cover the same queries, in order")
    overlap = np.ones(len(exact))
    for i in range(len(exact)):
        truth = {doc for doc in exact.docs[i, :k].tolist() if doc >= 0}
        found = {doc for doc in approximate.docs[i, :k].tolist() if doc >= 0}
        if truth:
            overlap[i] = len(truth & found) / len(truth)
    return overlap


def accuracy_at_k(approximate: SearchResults, exact: SearchResults, k: int = 10) -> float:
    """Mean overlap of the two top-k lists, query by query (the queries must be the same)."""
    if not exact.query_ids and approximate.query_ids == exact.query_ids:
        return 1.0
    return float(accuracy_per_query(approximate, exact, k).mean())
