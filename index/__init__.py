"""A Seismic inverted index for learned sparse vectors (numpy + Numba, no torch).

Seismic: Bruch, Nardini, Rulli, Venturini, "Efficient Inverted Indexes for Approximate Retrieval
over Learned Sparse Representations", SIGIR 2024. :class:`ExactIndex` is the exact baseline.
"""

from index.config import BuildConfig, SearchParams
from index.exact import ExactIndex
from index.results import SearchResults
from index.seismic import SeismicIndex

__all__ = ["BuildConfig", "ExactIndex", "SearchParams", "SearchResults", "SeismicIndex"]
