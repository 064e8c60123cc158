"""The desk against the daemon's real sweeper (fake platforms on loopback, one FakeClock)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from daemon_world import World, make_world  # type: ignore[import-not-found]

from connector.store import ApprovalStatus, CaseState

HOUR = timedelta(hours=1)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path)


def test_the_sweepers_guard_closes_a_pending_second_approval_as_overtaken(world: World) -> None:
    now = world.clock.now()
    case_id = world.seed(
        type="refund_only", reason="not_received", order_status="shipped", paid_amount=8800,
        shipped_at=(now - 72 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=5 * 3600,
    )
    world.daemon.run_once(full=True)
    record = next(r for r in world.store.find_cases(case_id))
    assert record.state is CaseState.queued_for_human
    approval = world.store.request_approval(
        record.key, action="approve-refund", amount_fen=8800, reason="买家未收到",
        seen_version=record.version, actor="human:ann",
    )
    world.advance(world.until_deadline(case_id) - timedelta(minutes=5))
    world.daemon.sweep_deadlines()
    decision = world.store.latest_decision(record.key)
    assert decision is not None
    assert decision.action != "human"  # the guard's rule applied
    assert world.store.pending_approval(record.key) is None
    closed = [e for e in world.store.audit_entries(case_id=case_id)
              if e.event == f"approval_{ApprovalStatus.overtaken}"]
    assert [(e.actor, e.details["approval_id"]) for e in closed] == [("policy", approval.id)]
