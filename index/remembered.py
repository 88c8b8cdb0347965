"""What a single query derives from its settings, remembered per distinct settings.

A service asks the same few settings again and again, and validating them (and choosing the
engine) costs ~3.5 µs warm but 8-30 µs between two searches, whose kernels leave the caches cold
for the interpreter (``reports/index-intel-where-s8.md``; 1M synthetic, two shards, Zen 4): as
much as the rest of a fast query's Python. A dictionary look-up is most of what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

#: Distinct settings remembered at most; a sweep over more forgets them all and starts again.
LIMIT = 256


class Remembered(Generic[T]):
    """``make(given)`` per distinct ``given``, while what it was made from (``sources``: the
    index's search defaults, its engine timing; values, compared as such) stays the same.

    Settings are told apart by type too: ``1``, ``1.0`` and ``True`` hash alike but are not the
    same request (a wrong type must still be refused by name). The sources and their values are
    replaced together, as one tuple, so a thread never reads values made under other sources.
    """

    def __init__(self) -> None:
        self._state: tuple[tuple, dict[tuple, T]] = ((), {})

    def get(self, sources: tuple, given: tuple, make: Callable[[tuple], T]) -> T | None:
        """``make(given)``, made once; ``None`` where a value of ``given`` cannot be hashed (the
        caller's full path then validates it and names the parameter)."""
        state = self._state
        if state[0] != sources:  # each the same object, or equal: what make reads is equal
            state = self._state = (sources, {})
        values = state[1]
        key = (*given, *map(type, given))
        try:
            return values[key]
        except KeyError:
            if len(values) >= LIMIT:
                values.clear()
            value = values[key] = make(given)
            return value
        except TypeError:
            return None
