"""The chaos profiles' arrival schedule: every case arrives, the first batch at the start."""

from __future__ import annotations

from itertools import pairwise

from tests.chaos.profiles import PROFILES, ChaosProfile


def test_smoke_creates_every_case_at_the_start() -> None:
    smoke = PROFILES["smoke"]
    assert smoke.arrivals() == [(0.0, 2_000)]
    assert smoke.last_deadline_bound_s() == smoke.deadline_max_s


def test_the_soak_spreads_its_cases_over_its_arrival_time() -> None:
    soak = PROFILES["soak"]
    arrivals = soak.arrivals()
    assert sum(count for _, count in arrivals) == soak.cases
    assert arrivals[0][0] == 0.0
    assert all(later > earlier for (earlier, _), (later, _) in pairwise(arrivals))
    assert arrivals[-1][0] < soak.arrival_s
    assert soak.last_deadline_bound_s() == arrivals[-1][0] + soak.deadline_max_s


def test_an_uneven_split_puts_the_remainder_in_the_first_batches() -> None:
    profile = ChaosProfile(
        name="t", cases=10, shops=2, kills=0, faults="F10", deadline_min_s=1.0,
        deadline_max_s=2.0, arrival_s=30.0, arrival_batches=3,
    )  # fmt: skip
    assert profile.arrivals() == [(0.0, 4), (10.0, 3), (20.0, 3)]
