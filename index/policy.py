"""Which segments a living index merges, and when: a tiered policy.

After every change, segments are put in tiers by their live documents: tier ``t`` holds those
of ``FLOOR_DOCS * SEGMENTS_PER_TIER**t`` to ``FLOOR_DOCS * SEGMENTS_PER_TIER**(t + 1)`` documents
(all smaller ones are tier 0). When a tier holds :data:`SEGMENTS_PER_TIER` segments, they are
merged into one, which lands a tier up. This is the logarithmic merging of Lucene's
``LogMergePolicy`` (Lucene's later ``TieredMergePolicy`` also weighs deletions and merge cost): a
document is rewritten about ``log_8(N / 1000)`` times over the life of an index of N documents,
so adding costs amortised ``O(log N)`` per document, and the index holds fewer than
``SEGMENTS_PER_TIER`` segments per tier, i.e. ``O(log N)`` segments, which bounds the fan-out of
every search. Deleted documents are dropped whenever their segment is merged; an explicit
:func:`force_merge` (``lsr index merge``) rewrites to at most ``max_segments`` segments and drops
every deleted document.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lsr.errors import InputError

FLOOR_DOCS = 1_000
SEGMENTS_PER_TIER = 8


def tier(n_live: int) -> int:
    """The tier of a segment of ``n_live`` live documents."""
    return int(math.log(max(n_live, FLOOR_DOCS) / FLOOR_DOCS, SEGMENTS_PER_TIER) + 1e-9)


def tiered_merge(live: Sequence[int]) -> list[int] | None:
    """Positions of the segments to merge next (those of the lowest full tier), or None."""
    tiers: dict[int, list[int]] = {}
    for position, n_live in enumerate(live):
        tiers.setdefault(tier(n_live), []).append(position)
    for level in sorted(tiers):
        if len(tiers[level]) >= SEGMENTS_PER_TIER:
            return tiers[level]
    return None


def force_merge(live: Sequence[int], deleted: Sequence[int], max_segments: int) -> list[list[int]]:
    """Groups of segment positions to rewrite, each into one segment, so that at most
    ``max_segments`` remain and none holds a deleted document: the smallest segments together,
    and every other segment with deletions on its own."""
    if isinstance(max_segments, bool) or not isinstance(max_segments, int) or max_segments < 1:
        raise InputError(f"max_segments must be an integer >= 1, got {max_segments!r}")
    by_size = sorted(range(len(live)), key=lambda p: (live[p], p))
    excess = len(live) - max_segments
    together = sorted(by_size[: excess + 1]) if excess > 0 else []
    alone = [[p] for p in range(len(live)) if deleted[p] and p not in together]
    return ([together] if together else []) + alone
