"""The one source of time: everything that needs "now" receives a Clock, so tests advance time.

All datetimes handed out are timezone-aware UTC. The platform's local time (GMT+8) is an adapter
concern; the core never reads the wall clock directly.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


@runtime_checkable
class Clock(Protocol):
    """Anything that can tell the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """Wall time. Only the demo and the real-process runs use it.

    ``offset_s`` shifts it (``REFUND_CONNECTOR_CLOCK_OFFSET_S`` for ``run``/``once``): a
    real-process test moves the daemon past a guard time, or skews it as a bad host clock would.
    """

    def __init__(self, offset_s: float = 0.0) -> None:
        self.offset = timedelta(seconds=offset_s)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class FakeClock:
    """A clock that moves only when told; shared by mocks and the daemon in in-process tests."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
        if start.tzinfo is None:
            msg = "FakeClock needs a timezone-aware start time"
            raise ValueError(msg)
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by a timedelta or a number of seconds; time never goes backwards."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            msg = "a clock never goes backwards"
            raise ValueError(msg)
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            msg = "FakeClock.set needs a timezone-aware time"
            raise ValueError(msg)
        with self._lock:
            when = when.astimezone(UTC)
            if when < self._now:
                msg = "a clock never goes backwards"
                raise ValueError(msg)
            self._now = when
            return self._now


def to_utc(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC; a naive one is a programming error."""
    if value.tzinfo is None:
        msg = "naive datetime: every time in the connector must carry its offset"
        raise ValueError(msg)
    return value.astimezone(UTC)
