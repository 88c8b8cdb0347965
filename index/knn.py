"""The kNN graph of the documents (Bruch, Nardini, Rulli, Venturini, CIKM 2024, "Pairing
Clustered Inverted Indexes with kNN Graphs for Fast Approximate Retrieval over Learned Sparse
Representations").

Each document's ``knn`` nearest documents by inner product, found with the index itself: the
document is the query, with the reference's fixed search parameters (``query_cut = 10``,
``heap_factor = 0.7``, ``Knn::new`` in ``inverted_index.rs``), ``knn + 1`` results so that the
document itself can be dropped. At query time the neighbours of the results are scored too
(:mod:`index.search`), recovering good documents the pruned lists missed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

KNN_QUERY_CUT = 10
KNN_HEAP_FACTOR = 0.7
#: Documents searched per call: bounds the memory of the intermediate results.
BATCH = 65_536


def build_knn_graph(
    n_docs: int,
    knn: int,
    search_docs: Callable[[int, int, int, int, float], np.ndarray],
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """``[n_docs, knn]`` int32 neighbour positions, best first, ``-1`` where fewer exist.

    ``search_docs(start, stop, k, query_cut, heap_factor)`` returns the ``[stop - start, k]``
    result positions of documents ``start:stop`` searched as queries.
    """
    graph = np.full((n_docs, knn), -1, dtype=np.int32)
    for start in range(0, n_docs, BATCH):
        stop = min(n_docs, start + BATCH)
        found = search_docs(start, stop, knn + 1, KNN_QUERY_CUT, KNN_HEAP_FACTOR)
        found = np.where(found == np.arange(start, stop)[:, None], -1, found)
        # Move the dropped self-matches and the padding to the end of each row, keeping order.
        order = np.argsort(found < 0, axis=1, kind="stable")
        graph[start:stop] = np.take_along_axis(found, order, axis=1)[:, :knn]
        if progress is not None:
            progress(stop - start)
    return graph
