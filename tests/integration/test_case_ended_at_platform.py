"""A case whose seller part ends at the platform gets nothing more sent (casebook rule 1).

Each test decides ``approve_refund`` on a small refund-only case over real loopback HTTP, lets
its ``taobao.rp.refunds.agree`` fail with 503 so it waits for its durable retry, then ends the
case at the Taobao fake (the buyer cancels, the seller's timer runs out, the buyer asks the
platform to step in). From the next poll on, no write leaves the connector: the waiting effects
are superseded in the poll's own unit of work, audited with the version that ended them.
The rule: ``connector.casechange.outlived_effects``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from daemon_world import World

from connector.effects import EffectKind, EffectStatus
from connector.models import CaseStatus
from connector.store import CaseRecord, CaseState, EffectRecord

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)
SHOP = "taobao-shop"
READS = frozenset(
    {
        "taobao.refunds.receive.get",
        "taobao.refund.get",
        "taobao.refund.messages.get",
        "taobao.trade.get",
        "taobao.logistics.trace.search",
        "taobao.item.seller.get",
    }
)
"""Every gateway call outside these is a write."""


def _key(case_id: str) -> tuple[str, str, str]:
    return ("taobao", SHOP, case_id)


def _record(world: World, case_id: str) -> CaseRecord:
    record = world.store.get_case(_key(case_id))
    assert record is not None
    return record


def _effects(world: World, case_id: str) -> list[EffectRecord]:
    return world.store.effects_of_case(_key(case_id))


def _approved_and_waiting_for_retry(world: World) -> tuple[str, EffectRecord]:
    """A 10-yuan shipping-fee refund (casebook rule 5: approve) whose agreement got a 503."""
    now = world.clock.now()
    case_id = world.seed(
        type="refund_only", reason="shipping_fee", order_status="delivered",
        paid_amount=15900, refund_amount=1000, logistics_status="delivered",
        shipped_at=(now - 4 * 24 * HOUR).isoformat(),
        delivered_at=(now - 2 * 24 * HOUR).isoformat(), deadline_s=30 * 3600,
    )  # fmt: skip
    world.control.faults(
        {"match": {"method": "taobao.rp.refunds.agree"}, "count": -1,
         "fault": {"kind": "http_status", "status": 503}}
    )  # fmt: skip
    world.daemon.run_once(full=True)

    decisions = world.store.decisions_of_case(_key(case_id))
    assert [d.action for d in decisions] == ["approve_refund"]
    [agree] = [e for e in _effects(world, case_id) if e.kind is EffectKind.agree_refund]
    assert agree.status is EffectStatus.pending
    assert agree.attempts >= 1
    assert agree.next_attempt_at is not None
    assert world.effects_at_platform(case_id) == []
    return case_id, agree


def _writes_since(world: World, mark: int) -> list[dict[str, Any]]:
    requests, _ = world.control.requests(since=mark)
    return [r for r in requests if r.get("method") not in READS]


def _assert_superseded_by(world: World, case_id: str, version: str | None) -> None:
    """Every platform write of the decision is superseded, audited with the ending version."""
    effects = [e for e in _effects(world, case_id) if e.kind is not EffectKind.notify_webhook]
    assert effects
    assert {e.status for e in effects} == {EffectStatus.superseded}
    audited = [
        e.details
        for e in world.store.audit_entries(case_id=case_id)
        if e.event == "effect_superseded"
    ]
    assert sorted(d["effect_id"] for d in audited) == sorted(e.id for e in effects)
    assert {d["ended_by_version"] for d in audited} == {version}
    assert all(str(version) in d["reason"] for d in audited)


def test_buyer_cancels_while_an_agreement_waits_for_retry_nothing_more_is_sent(
    world: World,
) -> None:
    case_id, agree = _approved_and_waiting_for_retry(world)
    _, mark = world.control.requests()
    world.control.buyer(case_id, {"action": "cancel"})
    world.control.clear_faults()  # the platform is back: a stale write would now go through
    assert agree.next_attempt_at is not None
    world.advance(agree.next_attempt_at - world.clock.now() + timedelta(seconds=1))

    world.daemon.run_once()

    assert _writes_since(world, mark) == []
    assert world.effects_at_platform(case_id) == []
    record = _record(world, case_id)
    assert record.status is CaseStatus.closed
    assert record.state is CaseState.done
    assert record.version == world.control.case(case_id)["version"]
    _assert_superseded_by(world, case_id, record.version)

    # Later passes (a reconciliation too) send nothing either.
    world.advance(HOUR)
    world.daemon.run_once(full=True)
    assert _writes_since(world, mark) == []


def test_the_sellers_timer_runs_out_while_an_agreement_waits_nothing_more_is_sent(
    world: World,
) -> None:
    """The platform refunds for the seller at the deadline (a timer ends the case)."""
    case_id, _ = _approved_and_waiting_for_retry(world)
    _, mark = world.control.requests()
    world.advance(world.until_deadline(case_id) + timedelta(minutes=1))
    world.control.clear_faults()

    world.daemon.run_once()

    assert _writes_since(world, mark) == []
    view = world.control.case(case_id)
    assert view["status"] == "refunded"
    assert view["auto_acted"] is True
    assert world.effects_at_platform(case_id) == []
    record = _record(world, case_id)
    assert record.status is CaseStatus.refunded
    assert record.state is CaseState.done
    _assert_superseded_by(world, case_id, record.version)


def test_platform_takes_over_while_an_agreement_waits_nothing_more_is_sent(
    world: World,
) -> None:
    """The buyer asks the platform to step in: the relay, which runs apart from the decider,
    finds nothing to send right after the poll, before the case is decided again."""
    case_id, agree = _approved_and_waiting_for_retry(world)
    _, mark = world.control.requests()
    world.control.buyer(case_id, {"action": "escalate"})
    world.control.clear_faults()
    assert agree.next_attempt_at is not None
    world.advance(agree.next_attempt_at - world.clock.now() + timedelta(seconds=1))

    world.daemon.poll_shop(world.daemon.shops[("taobao", SHOP)])
    world.daemon.relay_due()
    assert _writes_since(world, mark) == []
    record = _record(world, case_id)
    assert record.status is CaseStatus.in_dispute
    _assert_superseded_by(world, case_id, record.version)

    # The decider then hands the dispute to a person, still without a write.
    world.daemon.run_once()
    assert _writes_since(world, mark) == []
    assert _record(world, case_id).state is CaseState.queued_for_human
    assert world.effects_at_platform(case_id) == []
