"""The daemon never spends a call on a refusal the platform forbids (issue 17, point 6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from daemon_world import World

from connector.daemon.planner import FORBIDDEN_REFUSAL_NOTE
from connector.store import CaseState

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)


def test_late_no_reason_return_goes_to_a_person_without_the_refuse_call(world: World) -> None:
    now = world.clock.now()
    case_id = world.seed(
        type="return_and_refund",
        reason="no_reason_7d",
        order_status="delivered",
        paid_amount=15900,
        shipped_at=(now - 20 * DAY).isoformat(),
        delivered_at=(now - 15 * DAY).isoformat(),
        logistics_status="delivered",
        deadline_s=2 * 24 * 3600,
    )
    world.daemon.run_once(full=True)
    key = ("taobao", "taobao-shop", case_id)
    record = world.store.get_case(key)
    assert record is not None
    assert record.state is CaseState.queued_for_human
    methods = [str(r.get("method")) for r in world.taobao.requests.since(0)[0]]
    assert not [m for m in methods if "refuse" in m], methods
    decision = world.store.latest_decision(key)
    assert decision is not None
    assert decision.rule_id == "7-no-reason-too-late"
    assert decision.action == "human"
    assert decision.trace[0]["kind"] == "rule"  # the rule that would refuse, then the note
    notes = [s for s in decision.trace if isinstance(s, dict) and s.get("kind") == "note"]
    assert notes[0]["text_en"].startswith(FORBIDDEN_REFUSAL_NOTE)
    assert "isv.refuse-forbidden:no-reason-7d" in notes[0]["text_en"]
