"""How close approximate search comes to exact search: accuracy@k (:mod:`lsr.index.accuracy`,
where the index's own tuning needs it) against the right exact reference.

The exact top-k ``E_k`` is that of the index's *own stored weights* (:func:`exact_reference`):
a Seismic index stores float16 weights by default, and exact search over the float32 vectors
would also count, as misses, the ties and swaps that rounding to float16 makes, an error of the
storage and not of the approximation (pruning, block skipping) that accuracy@k measures.
"""

from __future__ import annotations

from typing import Any

from lsr.index import SearchResults
from lsr.index.accuracy import accuracy_at_k

from lsr.vectors import SparseCollection

__all__ = ["accuracy_at_k", "exact_reference"]


def exact_reference(index: Any, queries: SparseCollection, k: int = 10) -> SearchResults:
    """Exact top-k of ``queries`` over the weights ``index`` stores (``SeismicIndex.exact``)."""
    return index.exact().search_batch(queries, k=k)
