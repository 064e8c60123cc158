"""A queue of armed deadlines that fire lazily: O(log n) to arm, O(1) to ask when none is due.

An entry carries a *token* (the record's version when it was armed); a record that changed since
is skipped when its old entry comes up, so re-arming never needs to find and delete old entries.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterator
from datetime import datetime


class DeadlineQueue:
    """Armed ``(when, key, token)`` entries, popped in time order once ``when <= now``."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Hashable, Hashable]] = []
        self._order = 0  # ties fire in arming order; keys need not be comparable

    def arm(self, when: datetime, key: Hashable, token: Hashable) -> None:
        self._order += 1
        heapq.heappush(self._heap, (when.timestamp(), self._order, key, token))

    def due(
        self, now: datetime, still_armed: Callable[[Hashable, Hashable], bool]
    ) -> Iterator[Hashable]:
        """Keys whose deadline has come, oldest first, skipping entries ``still_armed`` rejects.

        Entries armed while iterating (a fired step arming the next one) are seen in the same
        pass when they are already due, so one clock jump can run a chain of timers.
        """
        cutoff = now.timestamp()
        while self._heap and self._heap[0][0] <= cutoff:
            _, _, key, token = heapq.heappop(self._heap)
            if still_armed(key, token):
                yield key

    def clear(self) -> None:
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)
