"""The deadline sweeper goes first: while it works, other workers start no new unit of work.

Python threads have no priorities, and every store call and socket read hands the GIL back and
waits for it again. When a platform comes back from an outage, a hundred poll, intake and relay
threads wake at once, and the sweeper waited for the GIL on each of its steps: a whole sweep of
a few milliseconds took 2.7 s and escalations came after their guard moment (found by the SMOKE
chaos run, seed 7). A sweep is short, so pausing the others at their next unit boundary for it
costs them little and bounds the sweeper's latency by the work already in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

MAX_PAUSE_S = 5.0
"""A worker never waits longer than this for a sweep (a sweep is normally milliseconds)."""


class SweeperFirst:
    """A gate: ``first()`` for the sweeper, ``wait_turn()`` at the start of every other unit."""

    def __init__(self, *, max_pause_s: float = MAX_PAUSE_S) -> None:
        self._changed = threading.Condition()
        self._sweeping = 0
        self._waiting = 0
        self._max_pause_s = max_pause_s

    @contextmanager
    def first(self) -> Iterator[None]:
        with self._changed:
            self._sweeping += 1
        try:
            yield
        finally:
            with self._changed:
                self._sweeping -= 1
                if self._sweeping == 0:
                    self._changed.notify_all()

    @property
    def sweeping(self) -> bool:
        return self._sweeping > 0

    @property
    def waiting(self) -> int:
        """Workers paused for a sweep right now."""
        return self._waiting

    def wait_turn(self) -> None:
        """Call holding no lock: a unit of work waits here while a sweep runs."""
        if self._sweeping == 0:  # the common case takes no lock
            return
        with self._changed:
            self._waiting += 1
            try:
                self._changed.wait_for(lambda: self._sweeping == 0, timeout=self._max_pause_s)
            finally:
                self._waiting -= 1
