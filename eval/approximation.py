"""How close approximate search comes to exact search.

accuracy@k (Seismic, Bruch et al., SIGIR 2024, Section 5): the fraction of the exact top-k that
the approximate top-k also returns, averaged over queries,
``mean_q |A_k(q) ∩ E_k(q)| / |E_k(q)|``. A query whose exact top-k is empty counts as 1.
"""

from __future__ import annotations

from lsr.index import SearchResults


def accuracy_at_k(approximate: SearchResults, exact: SearchResults, k: int = 10) -> float:
    """Mean overlap of the two top-k lists, query by query (the queries must be the same)."""
    if approximate.query_ids != exact.query_ids:
        raise ValueError("approximate and exact results must cover the same queries, in order")
    if not exact.query_ids:
        return 1.0
    total = 0.0
    for i in range(len(exact)):
        truth = {doc for doc in exact.docs[i, :k].tolist() if doc >= 0}
        found = {doc for doc in approximate.docs[i, :k].tolist() if doc >= 0}
        total += len(truth & found) / len(truth) if truth else 1.0
    return total / len(exact)
