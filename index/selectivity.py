"""The query_cut of a search scaled to the share of a segment's documents it may return.

Why. Seismic's static pruning keeps each term's ``n_postings`` heaviest documents, and query
processing visits the lists of the query's ``query_cut`` heaviest entries (Bruch et al., SIGIR
2024, Sections 4 and 5). Unfiltered, the top-k sit near the heads of those lists. When a filter
(or deletions) leaves a share ``s`` of the documents, the exact filtered top-k are, for a filter
independent of the scores, about the unfiltered top-``k / s``: lower scores, held by fewer of the
heaviest lists. Measured on the 1.1M synthetic rebuild of ``reports/bench-living-1m.md``
(``n_postings`` 3500, 200 queries of ~30 entries, ``heap_factor`` 0.8) at 10% allowed:

=========  ===========  ==============================  ==========================
query_cut  accuracy@10  exact top-10 in visited lists   allowed documents scored
=========  ===========  ==============================  ==========================
10         0.9315       0.9345                          2,692
20         0.9440       0.9460                          4,407
32         0.9495       0.9505 (30)                     6,138
40         0.9535       0.9560 (50: every list)         7,170
=========  ===========  ==============================  ==========================

The skip test loses almost nothing (accuracy within 0.003 of what the visited lists hold, and
``heap_factor`` 0.6 instead of 0.8 adds 0.002 at 1.5x the documents scored): the loss is the
lists left out, so ``heap_factor`` stays and the query_cut grows. Past every list of the query
the pruning itself bounds accuracy (0.956 at 10%, 0.928 at 3%, 0.986 at 50%): below ~5% only the
exact scan of the allowed documents (:data:`index.segmented.SCAN_FRACTION`) is more accurate.

The formula. With ``q`` the query_cut a search would use unfiltered,

    query_cut(s) = min(ceil(q * s ** -EXPONENT), q * MAX_SCALE)

``EXPONENT`` 0.6 gives 16 at 50% and 40 at 10% for ``q = 10`` (0.98 and 0.95 above). Its cost:
a filtered search scores only allowed documents but still scores every visited list's block
summaries, so at 10% query_cut 40 costs ~2.7-2.9x query_cut 10. At 1.1M that is ~1.4x the
unfiltered latency (query_cut 10 filtered: ~0.5x; estimated from batch timings); on the 220k
index of ``reports/bench-living.md`` (query_cut 10 filtered: 0.6-0.75x) it measured 2.19x, above
the issue's 2x, under load 9-14. The cap (``MAX_SCALE`` 4, reached at 10%) should come from the
index's own costs (summary scoring per list against document scoring): not done yet.

A query_cut the caller gives is used as given: only the index's stored default
(``search_defaults``, tuned or not) is scaled, since a caller who names a value asks for exactly
that work (:class:`index.segmented.SegmentedIndex`).
"""

from __future__ import annotations

import math
from dataclasses import replace

from lsr.index.config import SearchParams

#: How fast the query_cut grows as the allowed share falls (see the module docstring).
EXPONENT = 0.6
#: The query_cut is at most this many times the unfiltered one.
MAX_SCALE = 4


def scaled_query_cut(query_cut: int, share: float) -> int:
    """``min(ceil(query_cut * share ** -EXPONENT), query_cut * MAX_SCALE)``; ``share`` in
    ``(0, 1]``, the allowed documents over the segment's."""
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1], got {share}")
    return min(math.ceil(query_cut * share**-EXPONENT - 1e-9), query_cut * MAX_SCALE)


def adapted(params: SearchParams, allowed: int, total: int) -> SearchParams:
    """``params`` for a search of ``allowed`` documents among a segment's ``total`` (unchanged
    when nothing is left out)."""
    if allowed >= total or allowed == 0:
        return params
    return replace(params, query_cut=scaled_query_cut(params.query_cut, allowed / total))
