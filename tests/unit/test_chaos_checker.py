"""The chaos checker's clock for a case the platform's listings hid (late visibility).

Late visibility hides a version for up to 60 s; if the buyer changes the case before it shows
and the new version is hidden too, no listing shows the case for longer, possibly past its guard
moment. The checker then counts the escalation from the moment the case became listable, and
gives no allowance to a case that was listable before its guard moment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.chaos.checker import RunFacts, _first_listable, _hidden_into_guard_window

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def _facts(views: list[dict[str, Any]], ledger: list[dict[str, Any]], late: list[Any]) -> RunFacts:
    return RunFacts(
        initial_views=views,
        final_views=views,
        ledger=ledger,
        warehouse_ledger=[],
        profile={"late": late},
        downtimes=[],
        guard_s=30.0,
        sweep_s=1.0,
    )


def _view(case_id: str) -> dict[str, Any]:
    return {"case_id": case_id, "version": f"{case_id}-v1", "modified_at": _at(0)}


def _edit(case_id: str, seconds: float, seq: int) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "at": _at(seconds),
        "seq": seq,
        "version_before": f"{case_id}-v1",
        "version_after": f"{case_id}-v2",
    }


def _late(case_id: str, version: int, listed_from: float) -> dict[str, str]:
    return {"case_id": case_id, "version": f"{case_id}-v{version}", "listed_from": _at(listed_from)}


def test_first_listable_follows_late_versions_and_the_buyers_edits() -> None:
    facts = _facts(
        views=[_view("plain"), _view("late"), _view("twice"), _view("edited")],
        ledger=[_edit("twice", 40, 1), _edit("edited", 20, 2), _edit("plain", 50, 3)],
        late=[
            _late("late", 1, 45),
            # hidden until 60 s, replaced at 40 s by a version hidden until 100 s
            _late("twice", 1, 60),
            _late("twice", 2, 100),
            # hidden until 55 s, replaced at 20 s by a version listed at once
            _late("edited", 1, 55),
        ],
    )
    first = _first_listable(facts)
    assert first == {
        "plain": T0,
        "late": T0 + timedelta(seconds=45),
        "twice": T0 + timedelta(seconds=100),
        "edited": T0 + timedelta(seconds=20),
    }


def test_only_a_case_hidden_past_its_guard_moment_moves_its_clock() -> None:
    guard_at = T0 + timedelta(seconds=90)
    assert not _hidden_into_guard_window(None, guard_at)
    assert not _hidden_into_guard_window(T0 + timedelta(seconds=60), guard_at)
    assert not _hidden_into_guard_window(guard_at, guard_at)
    assert _hidden_into_guard_window(guard_at + timedelta(seconds=1), guard_at)
