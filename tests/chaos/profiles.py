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
        name="soak",
        cases=20_000,
        shops=100,
        kills=50,
        faults="F15",
        deadline_min_s=600.0,
        deadline_max_s=1_800.0,
        reconcile_s=300.0,
        intake_workers=64,
        quota_per_s=400.0,
        max_wall_s=2_700.0,
    ),
}
