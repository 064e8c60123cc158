"""Signed webhook notices for the connector's own events, over real loopback HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

import httpx
import pytest
from daemon_world import World
from ops_surface_helpers import SECRET, Receiver

from connector.effects import EffectKind, EffectStatus
from connector.notify import WebhookNotifier
from connector.store import CaseState, EffectRecord

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)
BUYER = {
    "buyer_name": "张小花",
    "buyer_phone": "13912345678",
    "buyer_address": "杭州市西湖区文三路1号",
}


def attach(world: World, receiver: Receiver, *events: str) -> WebhookNotifier:
    notifier = WebhookNotifier(
        url=receiver.url,
        secret=SECRET,
        events=events or ("escalated", "deadline_fallback", "deadline_at_risk"),
        http=httpx.Client(timeout=5),
        clock=world.clock,
    )
    world.daemon.notifier = notifier
    return notifier


def notices(world: World, case_id: str) -> list[EffectRecord]:
    return [
        e
        for e in world.store.effects_of_case(("taobao", "taobao-shop", case_id))
        if e.kind is EffectKind.notify_webhook
    ]


def seed_human_case(world: World) -> str:
    now = world.clock.now()
    return world.seed(
        type="refund_only", reason="not_received", order_status="shipped", paid_amount=8800,
        shipped_at=(now - 3 * 24 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=4 * 3600, **BUYER,
    )


def expected_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_escalation_then_fallback_each_delivered_once_signed_and_without_buyer_data(
    world: World, receiver: Receiver
) -> None:
    attach(world, receiver)
    case_id = seed_human_case(world)
    world.daemon.run_once(full=True)
    world.advance(world.until_deadline(case_id) - timedelta(minutes=59))
    world.daemon.run_once()
    world.daemon.run_once()  # nothing new: the same event is not sent again

    assert [b["event"] for b in receiver.bodies()] == ["escalated"]
    delivery = receiver.received[0]
    assert delivery.headers["x-refund-connector-signature"] == expected_signature(delivery.body)
    assert int(delivery.headers["x-refund-connector-timestamp"]) == int(
        world.clock.now().timestamp()
    )
    body = json.loads(delivery.body)
    deadline = datetime.fromisoformat(str(world.control.case(case_id)["deadline_at"]))
    assert body["case"] == {
        "platform": "taobao",
        "shop_id": "taobao-shop",
        "case_id": case_id,
        "order_id": world.order_of(case_id),
    }
    assert datetime.fromisoformat(body["deadline_at"]) == deadline
    assert body["seconds_left"] == pytest.approx(59 * 60, abs=2)
    assert body["action"] == "human"
    assert body["rule_id"]
    assert datetime.fromisoformat(body["at"]) == world.clock.now()

    world.advance(world.until_deadline(case_id) - timedelta(minutes=14))
    world.daemon.run_once()
    world.daemon.run_once()

    events = [b["event"] for b in receiver.bodies()]
    assert events == ["escalated", "deadline_fallback"]
    fallback = receiver.bodies()[1]
    assert fallback["action"] == "approve_refund"
    ids = [d.headers["x-refund-connector-delivery"] for d in receiver.received]
    assert len(set(ids)) == 2
    raw = b"".join(d.body for d in receiver.received).decode()
    for value in BUYER.values():
        assert value not in raw
    assert all(e.status is EffectStatus.done for e in notices(world, case_id))


def test_a_failing_receiver_is_retried_with_the_same_delivery_and_never_blocks_the_case(
    world: World, receiver: Receiver
) -> None:
    attach(world, receiver, "deadline_fallback")
    receiver.statuses = [500, 503]
    case_id = seed_human_case(world)
    world.daemon.run_once(full=True)
    world.advance(world.until_deadline(case_id) - timedelta(minutes=14))
    world.daemon.run_once()

    # The fallback refund landed although its notice failed.
    assert world.effects_at_platform(case_id)[0] == "agree_refund"
    (notice,) = notices(world, case_id)
    assert notice.status is EffectStatus.pending
    assert notice.attempts == 1
    assert len(receiver.received) == 1

    world.advance(timedelta(seconds=5))
    world.daemon.relay_due()
    assert len(receiver.received) == 2
    world.advance(timedelta(seconds=15))
    world.daemon.relay_due()
    world.advance(timedelta(minutes=5))
    world.daemon.relay_due()

    assert len(receiver.received) == 3
    assert len({d.body for d in receiver.received}) == 1
    assert len({d.headers["x-refund-connector-delivery"] for d in receiver.received}) == 1
    (notice,) = notices(world, case_id)
    assert notice.status is EffectStatus.done
    assert notice.attempts == 3


def test_a_refused_notice_fails_alone_and_the_case_stays_with_its_reviewer(
    world: World, receiver: Receiver
) -> None:
    attach(world, receiver, "escalated")
    receiver.statuses = [410]
    case_id = seed_human_case(world)
    world.daemon.run_once(full=True)
    world.advance(world.until_deadline(case_id) - timedelta(minutes=59))
    world.daemon.run_once()
    world.daemon.run_once()

    (notice,) = notices(world, case_id)
    assert notice.status is EffectStatus.failed
    assert notice.last_platform_code == "410"
    assert len(receiver.received) == 1
    record = world.store.get_case(("taobao", "taobao-shop", case_id))
    assert record is not None
    assert record.state is CaseState.queued_for_human
    decisions = world.store.decisions_of_case(record.key)
    assert [d.action for d in decisions][-1] == "human"


def test_deadline_at_risk_while_the_refund_is_still_being_retried(
    world: World, receiver: Receiver
) -> None:
    attach(world, receiver, "deadline_at_risk")
    case_id = world.seed(
        type="refund_only", reason="changed_mind", order_status="not_shipped",
        paid_amount=29900, deadline_s=4 * 3600,
    )
    world.warehouse_order(world.order_of(case_id), "not_printed")
    world.control.faults(
        {"match": {"method": "taobao.rp.refunds.agree"}, "count": -1,
         "fault": {"kind": "http_status", "status": 502}}
    )
    world.daemon.run_once(full=True)
    assert receiver.received == []

    world.advance(world.until_deadline(case_id) - timedelta(minutes=59))
    world.daemon.run_once()
    world.advance(timedelta(minutes=1))
    world.daemon.run_once()

    assert [b["event"] for b in receiver.bodies()] == ["deadline_at_risk"]
    body = receiver.bodies()[0]
    assert body["action"] == "approve_refund"
    assert 0 < body["seconds_left"] <= 3600
    entries = list(world.store.audit_entries(case_id=case_id))
    risk = [e for e in entries if e.event == "deadline_at_risk"]
    assert len(risk) == 1
    assert "agree_refund" in risk[0].details["open_effects"]
