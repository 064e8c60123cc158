"""Call quotas on the platform clock: token buckets (calls per second) and a daily counter.

Hand-written rather than pyrate-limiter because a fake must run its limits on the *platform*
clock (which tests jump forward) and must tell the caller exactly how long the ban lasts.
"""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta, tzinfo


class TokenBucket:
    """``rate`` calls/s with a burst of ``burst``; ``take`` answers the ban seconds or 0."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            msg = "a token bucket needs a rate > 0 calls per second"
            raise ValueError(msg)
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self.burst
        self._at: float | None = None

    def take(self, now_s: float) -> int:
        if self._at is not None and now_s > self._at:
            self._tokens = min(self.burst, self._tokens + (now_s - self._at) * self.rate)
        if self._at is None or now_s > self._at:
            self._at = now_s
        if self._tokens >= 1:
            self._tokens -= 1
            return 0
        return max(1, math.ceil((1 - self._tokens) / self.rate))


class DailyQuota:
    """At most ``limit`` calls per day in ``tz``; a ban lasts until the next midnight there."""

    def __init__(self, limit: int, tz: tzinfo) -> None:
        self.limit = limit
        self._tz = tz
        self._day: object = None
        self._used = 0

    def take(self, now: datetime) -> int:
        local = now.astimezone(self._tz)
        if local.date() != self._day:
            self._day = local.date()
            self._used = 0
        if self._used < self.limit:
            self._used += 1
            return 0
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), self._tz)
        return max(1, math.ceil((midnight - local).total_seconds()))


class BucketSet:
    """Token buckets created on first use, one per key (app, or app+method)."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now_s: float) -> int:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
            return bucket.take(now_s)
