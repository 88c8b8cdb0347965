"""A Seismic inverted index for learned sparse vectors (numpy + Numba, no torch).

Seismic: Bruch, Nardini, Rulli, Venturini, "Efficient Inverted Indexes for Approximate Retrieval
over Learned Sparse Representations", SIGIR 2024. :class:`ExactIndex` is the exact baseline.

Contributors: Numba caches each kernel in ``index/__pycache__`` keyed on its own module's source,
so editing a kernel that others inline (``forward.dot_dense``, ``simd``, ``prefetch``, ``topk``,
``summary``) leaves their cached code stale; delete ``index/__pycache__/*.nbi`` and ``*.nbc``
after such an edit.
"""

from lsr.index.config import BuildConfig, SearchParams
from lsr.index.exact import ExactIndex
from lsr.index.results import SearchResults
from lsr.index.seismic import SeismicIndex

__all__ = ["BuildConfig", "ExactIndex", "SearchParams", "SearchResults", "SeismicIndex"]
