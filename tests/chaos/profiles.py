"""Chaos run profiles: how many cases, shops, kills, which fault profile, what timing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChaosProfile:
    """One named run. Times are seconds of wall time."""

    name: str
    cases: int
    shops: int
    kills: int
    faults: str
    """The fakes' fault profile (``mocks.kit.profile.PROFILES``)."""
    deadline_min_s: float
    deadline_max_s: float
    guard_s: int = 30
    """The policy's ``deadline_escalate`` (rule 11, first step)."""
    fallback_s: int = 15
    poll_s: float = 1.0
    lookback_s: float = 65.0
    """Longer than the profile's late visibility (60 s), so a late case is listed in time."""
    reconcile_s: float = 120.0
    """A full re-listing re-fetches every case: often enough to pick up an item broken in its
    only listing, rarely enough to leave the quota to intake and pushes."""
    intake_workers: int = 48
    """Hung calls and in-call backoff hold a worker: more than the default keep the quota,
    not the waits, the limit."""
    http_timeout_s: float = 3.0
    quota_per_s: float = 400.0
    page_size: int = 20
    max_wall_s: float = 480.0
    """Give up waiting for quiescence after this long (the run then fails)."""
    arrival_s: float = 0.0
    """Cases arrive in ``arrival_batches`` equal batches spread over this many seconds (deadlines
    counted from each case's own creation); 0: every case exists at the start."""
    arrival_batches: int = 1

    def arrivals(self) -> list[tuple[float, int]]:
        """(seconds after the start, how many cases) per batch; the first batch at 0."""
        batches = max(self.arrival_batches, 1)
        base, extra = divmod(self.cases, batches)
        step = self.arrival_s / batches
        return [(round(step * i, 3), base + (1 if i < extra else 0)) for i in range(batches)]

    def last_deadline_bound_s(self) -> float:
        """No case's deadline falls later than this after the start."""
        return self.arrivals()[-1][0] + self.deadline_max_s


PROFILES: dict[str, ChaosProfile] = {
    "smoke": ChaosProfile(
        name="smoke",
        cases=2_000,
        shops=50,
        kills=10,
        faults="F10",
        deadline_min_s=120.0,
        deadline_max_s=300.0,
    ),
    "mini": ChaosProfile(  # a quick local check of the harness itself, not a goal
        name="mini",
        cases=200,
        shops=10,
        kills=3,
        faults="F10",
        deadline_min_s=60.0,
        deadline_max_s=100.0,
        max_wall_s=240.0,
    ),
    "soak": ChaosProfile(
        # Cases arrive as they do in a busy shop, about 13 a second for 25 minutes, each with
        # 3-10 minutes to answer: durability over a long run, not a burst (docs/chaos.md). A
        # poll every 2 s: at 17 a second with 100 shops polled every second the daemon held a
        # core at 94 % and fell behind on this 2-core machine.
        name="soak",
        cases=20_000,
        shops=100,
        kills=50,
        faults="F15",
        deadline_min_s=180.0,
        deadline_max_s=600.0,
        reconcile_s=300.0,
        intake_workers=64,
        quota_per_s=400.0,
        max_wall_s=2_700.0,
        poll_s=2.0,
        arrival_s=1_500.0,
        arrival_batches=150,
    ),
}
