"""Whole lives of cases through the daemon, over real loopback HTTP, with the clock advanced."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from daemon_world import World

from connector.daemon.core import DECIDERS
from connector.effects import EffectKind, EffectStatus
from connector.store import CaseState

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)


def key(world: World, case_id: str, shop: str = "taobao-shop") -> tuple[str, str, str]:
    return ("taobao", shop, case_id)


def test_pre_shipment_refund_voids_the_warehouse_order_then_approves(world: World) -> None:
    case_id = world.seed(
        type="refund_only", reason="changed_mind", order_status="not_shipped",
        paid_amount=29900, deadline_s=20 * 3600,
    )
    order_id = world.order_of(case_id)
    world.warehouse_order(order_id, "not_printed")

    world.daemon.run_once(full=True)

    voids = [e for e in world.warehouse_ledger() if e.get("order_id") == order_id]
    assert [e["effect"] for e in voids] == ["void_order"]
    assert world.effects_at_platform(case_id) == ["agree_refund", "write_order_memo"]
    assert world.control.case(case_id)["status"] == "refunded"
    effects = world.store.effects_of_case(key(world, case_id))
    kinds = [e.kind for e in effects]
    assert kinds[:2] == [EffectKind.void_warehouse_order, EffectKind.agree_refund]
    void, agree = effects[0], effects[1]
    assert void.done_at is not None
    assert agree.done_at is not None
    assert void.done_at <= agree.done_at

    # Nothing is repeated: the platform's new version (our own write) decides nothing new.
    world.advance(timedelta(minutes=5))
    world.daemon.run_once(full=True)
    assert world.effects_at_platform(case_id) == ["agree_refund", "write_order_memo"]
    record = world.store.get_case(key(world, case_id))
    assert record is not None
    assert record.state is CaseState.done


def test_printed_pick_list_goes_to_a_person(world: World) -> None:
    case_id = world.seed(
        type="refund_only", reason="changed_mind", order_status="not_shipped",
        paid_amount=29900, deadline_s=20 * 3600,
    )
    world.warehouse_order(world.order_of(case_id), "printed")
    world.daemon.run_once(full=True)
    record = world.store.get_case(key(world, case_id))
    assert record is not None
    assert record.state is CaseState.queued_for_human
    assert world.effects_at_platform(case_id) == []


def test_no_reason_return_through_shipping_receipt_and_refund(world: World) -> None:
    now = world.clock.now()
    case_id = world.seed(
        type="return_and_refund", reason="no_reason_7d", order_status="delivered",
        paid_amount=15900, shipped_at=(now - 5 * 24 * HOUR).isoformat(),
        delivered_at=(now - 3 * 24 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=3 * 24 * 3600,
    )
    world.daemon.run_once(full=True)
    assert world.effects_at_platform(case_id) == ["agree_return"]
    assert world.control.case(case_id)["status"] == "awaiting_buyer_return"

    world.advance(HOUR)
    world.control.buyer(case_id, {"action": "ship_return", "waybill": "SF123", "carrier": "SF"})
    world.daemon.run_once()
    record = world.store.get_case(key(world, case_id))
    assert record is not None
    assert record.state is CaseState.waiting

    world.advance(24 * HOUR)
    world.control.buyer(case_id, {"action": "return_delivered"})
    world.warehouse_return(world.order_of(case_id), resellable=True, note="tags on, unworn")
    world.daemon.run_once(full=True)

    assert world.effects_at_platform(case_id) == [
        "agree_return", "confirm_return_and_refund", "write_order_memo",
    ]
    assert world.control.case(case_id)["status"] == "refunded"
    assert world.control.case(case_id)["refunded_amount"] == 15900


def test_ask_to_modify_falls_back_to_refusal_at_the_deadline(world: World) -> None:
    now = world.clock.now()
    case_id = world.seed(
        type="refund_only", reason="damaged", order_status="delivered", paid_amount=59900,
        shipped_at=(now - 4 * 24 * HOUR).isoformat(),
        delivered_at=(now - 2 * 24 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=6 * 3600,
    )
    world.daemon.run_once(full=True)
    assert world.effects_at_platform(case_id) == ["message_buyer"]

    # A second pass before the guard asks nothing more.
    world.advance(HOUR)
    world.daemon.run_once(full=True)
    assert world.effects_at_platform(case_id) == ["message_buyer"]

    world.advance(world.until_deadline(case_id) - timedelta(minutes=59))
    world.daemon.run_once()
    assert world.effects_at_platform(case_id) == ["message_buyer", "refuse_refund"]
    assert world.control.case(case_id)["status"] == "refused"
    refusal = next(
        e for e in world.store.effects_of_case(key(world, case_id))
        if e.kind is EffectKind.refuse_refund
    )
    assert refusal.status is EffectStatus.done
    assert len(refusal.params["proof_image_sha256"]) == 64


def test_human_case_is_escalated_then_takes_the_platform_outcome_in_time(world: World) -> None:
    now = world.clock.now()
    case_id = world.seed(
        type="refund_only", reason="not_received", order_status="shipped", paid_amount=8800,
        shipped_at=(now - 3 * 24 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=4 * 3600,
    )
    world.daemon.run_once(full=True)
    record = world.store.get_case(key(world, case_id))
    assert record is not None
    assert record.state is CaseState.queued_for_human
    deadline = world.clock.now() + world.until_deadline(case_id)

    world.advance(world.until_deadline(case_id) - timedelta(minutes=59))
    world.daemon.run_once()
    events = [str(e.event) for e in world.store.audit_entries(case_id=case_id)]
    assert "escalated" in events
    assert world.effects_at_platform(case_id) == []

    world.advance(world.until_deadline(case_id) - timedelta(minutes=14))
    world.daemon.run_once()
    assert world.effects_at_platform(case_id)[0] == "agree_refund"
    assert "deadline_fallback" in [
        e.event for e in world.store.audit_entries(case_id=case_id)
    ]
    world.advance(deadline - world.clock.now() + timedelta(minutes=1))
    world.daemon.run_once()
    assert world.control.case(case_id)["auto_acted"] is False


def test_buyer_change_between_read_and_write_is_reread_and_decided_once(world: World) -> None:
    now = world.clock.now()
    case_id = world.seed(
        shop_id="tmall-shop", type="return_and_refund", reason="quality",
        order_status="delivered", paid_amount=25900, evidence=["photo"],
        shipped_at=(now - 5 * 24 * HOUR).isoformat(),
        delivered_at=(now - 2 * 24 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=3 * 24 * 3600,
    )
    world.control.faults(
        {"match": {"method": "taobao.rp.returngoods.agree"}, "count": 1,
         "fault": {"kind": "change_before"}}
    )
    world.daemon.run_once(full=True)
    assert world.effects_at_platform(case_id) == ["agree_return"]
    case_key = ("taobao", "tmall-shop", case_id)
    decisions = world.store.decisions_of_case(case_key)
    assert len(decisions) == 2
    assert decisions[0].decided_version != decisions[1].decided_version
    statuses = sorted(e.status for e in world.store.effects_of_case(case_key))
    assert statuses == [EffectStatus.done, EffectStatus.superseded]


def _seed_case_for_a_person(world: World) -> str:
    """A parcel tracked as delivered that the buyer says never came: the policy asks a person
    (deadline in 4 h, escalation 1 h before it, fallback approval 15 min before it)."""
    now = world.clock.now()
    return world.seed(
        type="refund_only", reason="not_received", order_status="shipped", paid_amount=8800,
        shipped_at=(now - 3 * 24 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=4 * 3600,
    )  # fmt: skip


def test_a_case_busy_with_a_send_does_not_hold_up_the_sweep_of_others(world: World) -> None:
    """The sweeper skips a case whose lock a (possibly hung) send holds and goes on at once.

    Found by the SMOKE chaos run: the decider waited on such a lock for a hung call's whole
    timeout and its retries, and the guard of other cases came seconds late.
    """
    busy, free = _seed_case_for_a_person(world), _seed_case_for_a_person(world)
    world.daemon.run_once(full=True)
    world.advance(world.until_deadline(free) - timedelta(minutes=59))

    lock = world.daemon._case_lock(key(world, busy))  # what a send in flight holds
    with lock:  # the same thread: a waiting sweeper would deadlock here, not just stall
        world.daemon.sweep_deadlines()

    def escalated(case_id: str) -> bool:
        return "escalated" in [e.event for e in world.store.audit_entries(case_id=case_id)]

    assert escalated(free)
    assert not escalated(busy)
    world.daemon.sweep_deadlines()  # the next tick, the send done
    assert escalated(busy)


def test_the_sweep_holds_back_new_work_of_other_threads_while_it_decides(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the SMOKE chaos run (seed 7): after an outage a hundred threads woke at once
    and one sweep took 2.7 s; other workers now wait at their next unit of work meanwhile."""
    case_id = _seed_case_for_a_person(world)
    world.daemon.run_once(full=True)
    world.advance(world.until_deadline(case_id) - timedelta(minutes=59))
    gate_held: list[bool] = []
    decide = world.daemon.decide_case

    def watched(shop: Any, record: Any) -> Any:
        gate_held.append(world.daemon.sweeper_first.sweeping)
        return decide(shop, record)

    monkeypatch.setattr(world.daemon, "decide_case", watched)
    world.daemon.sweep_deadlines()
    assert gate_held == [True]
    assert not world.daemon.sweeper_first.sweeping
    assert "escalated" in [e.event for e in world.store.audit_entries(case_id=case_id)]


def _fallback_send_12_s_before_the_deadline(world: World, fault: dict[str, Any]) -> str:
    """A case for a person whose fallback approval is first sent 12 s before the deadline."""
    case_id = _seed_case_for_a_person(world)
    world.daemon.run_once(full=True)
    world.control.faults({"match": {"method": "taobao.rp.refunds.agree"}, **fault})
    world.advance(world.until_deadline(case_id) - timedelta(seconds=12))
    world.slept.clear()
    world.daemon.sweep_deadlines()  # the deadline fallback: approve
    world.daemon.relay_due()
    return case_id


def test_a_send_near_its_deadline_waits_less_before_its_next_attempt(world: World) -> None:
    """Found by the SMOKE chaos run: a fallback approval due 15 s before the deadline lost two
    sends and a restart, waited out the retry schedule, and the platform acted for the seller.
    Near the deadline the outbox's wait is cut to a quarter of the time left (here 3 s, not 5)."""
    fault = {"count": 2, "fault": {"kind": "http_status", "status": 502}}
    case_id = _fallback_send_12_s_before_the_deadline(world, fault)
    effects = world.store.effects_of_case(key(world, case_id))
    [agree] = [e for e in effects if e.kind is EffectKind.agree_refund]
    assert agree.status is EffectStatus.pending
    assert agree.next_attempt_at is not None
    wait = agree.next_attempt_at - world.clock.now()
    assert timedelta(seconds=2.5) <= wait <= timedelta(seconds=3.5)
    world.advance(wait)
    world.daemon.relay_due()
    assert world.effects_at_platform(case_id)[0] == "agree_refund"


def test_a_conflict_whose_reread_cannot_reach_the_warehouse_leaves_nothing_in_flight(
    world: World,
) -> None:
    """The re-read after a conflict enriches the case from the warehouse; when that fails the
    effect is still superseded and the case decided again, never left in flight."""
    case_id = world.seed(
        type="refund_only", reason="changed_mind", order_status="not_shipped",
        paid_amount=29900, deadline_s=20 * 3600,
    )  # fmt: skip
    world.warehouse_order(world.order_of(case_id), "not_printed")
    world.control.faults(
        {"match": {"method": "taobao.rp.refunds.agree"}, "count": 1,
         "fault": {"kind": "change_before"}}
    )  # fmt: skip
    world.daemon.poll_shop(world.daemon.shops[("taobao", "taobao-shop")], full=True)
    world.daemon.decide_pending()
    # From here the warehouse answers 503 to everything: the re-read's enrichment fails.
    world.warehouse.post(
        "/__mock/faults",
        json={"rules": [{"match": {"method": "get_order"}, "count": -1,
                         "fault": {"kind": "http_status", "status": 503}}]},
    ).raise_for_status()  # fmt: skip
    world.daemon.relay_due()
    world.daemon.relay_due()

    effects = world.store.effects_of_case(key(world, case_id))
    agree = [e for e in effects if e.kind is EffectKind.agree_refund]
    assert agree
    assert agree[0].status is EffectStatus.superseded
    assert all(e.status is not EffectStatus.in_flight for e in effects)
    record = world.store.get_case(key(world, case_id))
    assert record is not None
    assert record.state is CaseState.new


def test_a_new_case_inside_its_guard_window_is_decided_by_the_sweep(world: World) -> None:
    """Found by the SMOKE chaos run: a case sent back to ``new`` by a conflict 11 s before its
    deadline waited behind the decider's backlog and the platform acted for the seller. The
    sweep now takes undecided cases whose guard moment has passed; the others stay the
    decider's."""
    urgent = _seed_case_for_a_person(world)  # deadline in 4 h, escalation 1 h before it
    now = world.clock.now()
    later = world.seed(
        type="refund_only", reason="not_received", order_status="shipped", paid_amount=8800,
        shipped_at=(now - 3 * 24 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=6 * 3600,
    )  # fmt: skip
    world.daemon.poll_shop(world.daemon.shops[("taobao", "taobao-shop")], full=True)
    world.advance(world.until_deadline(urgent) - timedelta(minutes=59))

    world.daemon.sweep_deadlines()  # no decide_pending at all

    urgent_record = world.store.get_case(key(world, urgent))
    later_record = world.store.get_case(key(world, later))
    assert urgent_record is not None
    assert later_record is not None
    assert urgent_record.state is CaseState.queued_for_human
    assert "escalated" in [e.event for e in world.store.audit_entries(case_id=urgent)]
    assert later_record.state is CaseState.new


def test_the_decider_takes_a_case_turned_urgent_before_the_rest_of_its_backlog(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the SMOKE chaos run: the decider read 1,000 new cases at once and worked through
    that list while cases that became new meanwhile (nearer deadlines) waited up to 130 s."""
    backlog = [
        world.seed(type="refund_only", reason="changed_mind", order_status="not_shipped",
                   paid_amount=1000 + i, deadline_s=20 * 3600)
        for i in range(40)
    ]  # fmt: skip
    urgent = _seed_case_for_a_person(world)
    world.daemon.poll_shop(world.daemon.shops[("taobao", "taobao-shop")], full=True)
    world.store.set_case_state(key(world, urgent), CaseState.waiting, reason="test")
    order: list[str] = []
    decide = world.daemon.decide_case

    def watched(shop: Any, record: Any) -> Any:
        order.append(record.case_id)
        if len(order) == 1:  # a conflict sends the urgent case back to new meanwhile
            world.store.set_case_state(key(world, urgent), CaseState.new, reason="test")
        return decide(shop, record)

    monkeypatch.setattr(world.daemon, "decide_case", watched)
    world.daemon.decide_pending()

    assert set(order) == {*backlog, urgent}
    # After the first read's 25 (give or take the deciders running at once), not after all 40.
    assert order.index(urgent) <= 25 + DECIDERS


def test_a_case_with_a_far_deadline_is_not_starved_by_nearer_ones(world: World) -> None:
    """Nearest deadline first, but a few of each read are the longest waiting: found by the
    SMOKE chaos run, where ~500 cases with a week to go stayed undecided for minutes while a
    steady stream of nearer cases kept the decider busy."""
    far = world.seed(
        type="refund_only", reason="changed_mind", order_status="not_shipped",
        paid_amount=1000, deadline_s=6 * 24 * 3600,
    )  # fmt: skip
    shop = world.daemon.shops[("taobao", "taobao-shop")]
    world.daemon.poll_shop(shop, full=True)
    world.advance(timedelta(minutes=1))
    for i in range(40):
        world.seed(
            type="refund_only", reason="changed_mind", order_status="not_shipped",
            paid_amount=2000 + i, deadline_s=20 * 3600,
        )  # fmt: skip
    world.daemon.poll_shop(shop, full=True)

    assert world.daemon.decide_pending(limit=10).decided == 10

    record = world.store.get_case(key(world, far))
    assert record is not None
    assert record.state is not CaseState.new
