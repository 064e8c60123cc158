"""The fake platform's "now": an injected clock (shared with the daemon) or wall time + offset.

A fake must let tests move time (``POST /__mock/clock``) without sleeping. When a test injects a
clock (duck-typed: anything with ``now() -> aware datetime``; ``advance``/``set`` if it can move),
the fake and the daemon share one timeline. Otherwise the fake keeps wall time plus an offset that
the control API advances, and can be frozen.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ClockLike(Protocol):
    """Anything that tells the current time as an aware datetime."""

    def now(self) -> datetime: ...


class PlatformClock:
    """Wall time plus an offset the control API moves; optionally frozen at one instant."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return datetime.now(UTC) + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    @property
    def offset_s(self) -> float:
        """How far ahead of wall time the platform runs (0 until a test moves it)."""
        with self._lock:
            return self._offset.total_seconds()

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            msg = "advance_s must be >= 0: platform time never goes backwards"
            raise ValueError(msg)
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            if self._frozen_at is not None:
                self._frozen_at += timedelta(seconds=seconds)
                return self._frozen_at
            return datetime.now(UTC) + self._offset

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            msg = "set needs a time with an offset"
            raise ValueError(msg)
        current = self.now()
        if when < current:
            msg = "set must not move platform time backwards"
            raise ValueError(msg)
        return self.advance((when - current).total_seconds())

    def set_frozen(self, frozen: bool) -> datetime:
        with self._lock:
            if frozen and self._frozen_at is None:
                self._frozen_at = datetime.now(UTC) + self._offset
            elif not frozen and self._frozen_at is not None:
                self._offset = self._frozen_at - datetime.now(UTC)
                self._frozen_at = None
            return self._frozen_at or datetime.now(UTC) + self._offset


class MockClock:
    """What a fake reads: an injected clock (moved via its advance/set) or a PlatformClock."""

    def __init__(self, injected: ClockLike | None = None) -> None:
        self._injected: Any = injected
        self._own = PlatformClock() if injected is None else None

    def now(self) -> datetime:
        if self._own is not None:
            return self._own.now()
        value: datetime = self._injected.now()
        if value.tzinfo is None:
            msg = "the injected clock returned a naive datetime"
            raise ValueError(msg)
        return value.astimezone(UTC)

    @property
    def injected(self) -> bool:
        return self._own is None

    @property
    def frozen(self) -> bool:
        """An injected clock moves only when told, so it counts as frozen."""
        return True if self._own is None else self._own.frozen

    @property
    def runs_ahead_of_wall(self) -> bool:
        """True when the control API moved an own clock away from wall time."""
        return self._own is not None and (self._own.frozen or self._own.offset_s != 0)

    def client_time_ok(self, sent: datetime, skew_s: float) -> bool:
        """Is a client's request time within ``skew_s`` of platform time?

        [I] Once the control API has moved an own clock away from wall time, a time close to
        wall time is accepted too, so a client on the wall clock keeps working.
        """
        candidates = [self.now()]
        if self.runs_ahead_of_wall:
            candidates.append(datetime.now(UTC))
        return min(abs((sent - ref).total_seconds()) for ref in candidates) <= skew_s

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            msg = "advance_s must be >= 0: platform time never goes backwards"
            raise ValueError(msg)
        if self._own is not None:
            return self._own.advance(seconds)
        mover = getattr(self._injected, "advance", None)
        if mover is None:
            msg = "the injected clock cannot be advanced through the mock"
            raise ValueError(msg)
        mover(timedelta(seconds=seconds))
        return self.now()

    def set(self, when: datetime) -> datetime:
        if self._own is not None:
            return self._own.set(when)
        setter = getattr(self._injected, "set", None)
        if setter is None:
            msg = "the injected clock cannot be set through the mock"
            raise ValueError(msg)
        setter(when)
        return self.now()

    def set_frozen(self, frozen: bool) -> datetime:
        if self._own is None:
            if not frozen:
                msg = "an injected clock moves only when its owner moves it; it cannot unfreeze"
                raise ValueError(msg)
            return self.now()
        return self._own.set_frozen(frozen)


def parse_iso(value: object, field: str) -> datetime:
    """An ISO 8601 time with offset from a control body; names the field when it is wrong."""
    if not isinstance(value, str):
        msg = f"{field} must be an ISO 8601 string with offset"
        raise ValueError(msg)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        msg = f"{field} is not ISO 8601: {value!r}"
        raise ValueError(msg) from exc
    if parsed.tzinfo is None:
        msg = f"{field} needs an offset (e.g. +08:00): {value!r}"
        raise ValueError(msg)
    return parsed


def apply_clock_change(clock: MockClock, body: dict[str, Any]) -> None:
    """Apply a ``POST /__mock/clock`` body (advance_s, set, frozen) to a fake's clock."""
    known = {"advance_s", "set", "frozen"}
    if not body or set(body) - known:
        msg = f"clock body needs one of {sorted(known)}, got {sorted(body)}"
        raise ValueError(msg)
    if "frozen" in body:
        if not isinstance(body["frozen"], bool):
            msg = "frozen must be true or false"
            raise ValueError(msg)
        clock.set_frozen(body["frozen"])
    if "advance_s" in body:
        step = body["advance_s"]
        if isinstance(step, bool) or not isinstance(step, int | float):
            msg = "advance_s must be a number of seconds"
            raise ValueError(msg)
        clock.advance(float(step))
    if "set" in body:
        clock.set(parse_iso(body["set"], "set"))
