"""Keep to each platform application's call quota (pyrate-limiter), shared by every shop on it.

Calls block until the bucket has room, so the connector never earns a ban in steady state;
a ban the platform declares anyway is honoured through ``retry_after`` on the error.
"""

from __future__ import annotations

import math
import threading

from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate


class QuotaGate:
    """One limiter per quota key (e.g. platform + app key)."""

    def __init__(self) -> None:
        self._limiters: dict[str, Limiter] = {}
        self._lock = threading.Lock()

    def configure(self, key: str, calls_per_second: float) -> None:
        with self._lock:
            if key in self._limiters:
                return
            # Whole calls per window: express fractional rates over a longer window.
            if calls_per_second >= 1:
                rate = Rate(math.floor(calls_per_second), Duration.SECOND)
            else:
                rate = Rate(1, int(Duration.SECOND * (1 / calls_per_second)))
            self._limiters[key] = Limiter(InMemoryBucket([rate]))

    def acquire(self, key: str) -> None:
        limiter = self._limiters.get(key)
        if limiter is not None:
            limiter.try_acquire(key, blocking=True)

    def close(self) -> None:
        with self._lock:
            for limiter in self._limiters.values():
                limiter.close()
            self._limiters.clear()
