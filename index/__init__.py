"""A Seismic inverted index for learned sparse vectors (numpy + Numba, no torch).

Seismic: Bruch, Nardini, Rulli, Venturini, "Efficient Inverted Indexes for Approximate Retrieval
over Learned Sparse Representations", SIGIR 2024. :class:`ExactIndex` is the exact baseline.

Numba caches the kernels under a directory keyed on a hash of this package's sources
(:mod:`index.numba_cache`), so that an edit to a kernel that others inline never leaves their
cached code stale; it is set up first, before any kernel is defined.
"""

from lsr.index import numba_cache

numba_cache.install()

# After install(): importing these defines the kernels, which find their cache location then.
from lsr.index.config import BuildConfig, SearchParams  # noqa: E402
from lsr.index.exact import ExactIndex  # noqa: E402
from lsr.index.results import SearchResults  # noqa: E402
from lsr.index.seismic import SeismicIndex  # noqa: E402

__all__ = ["BuildConfig", "ExactIndex", "SearchParams", "SearchResults", "SeismicIndex"]
