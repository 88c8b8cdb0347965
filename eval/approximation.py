"""How close approximate search comes to exact search.

accuracy@k (Seismic, Bruch et al., SIGIR 2024, Section 5): the fraction of the exact top-k that
the approximate top-k also returns, averaged over queries,
``mean_q |A_k(q) ∩ E_k(q)| / |E_k(q)|``. A query whose exact top-k is empty counts as 1.

The exact top-k ``E_k`` is that of the index's *own stored weights* (:func:`exact_reference`):
a Seismic index stores float16 weights by default, and exact search over the float32 vectors
would also count, as misses, the ties and swaps that rounding to float16 makes, an error of the
storage and not of the approximation (pruning, block skipping) that accuracy@k measures.
"""

from __future__ import annotations

from typing import Any

from lsr.index import SearchResults

from lsr.vectors import SparseCollection


def exact_reference(index: Any, queries: SparseCollection, k: int = 10) -> SearchResults:
    """Exact top-k of ``queries`` over the weights ``index`` stores (``SeismicIndex.exact``)."""
    return index.exact().search_batch(queries, k=k)


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
