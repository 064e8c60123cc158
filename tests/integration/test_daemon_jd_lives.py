"""JD cases through the daemon end to end, beside Taobao shops, over real loopback HTTP.

The JD fake, the Taobao fake, the warehouse fake and the daemon share one FakeClock; tests advance
it and never sleep. JD has no buyer messages, order memos or proof images (the adapter declares
them missing), so the daemon plans none of them for the JD shop.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from jd_world import MixedWorld, make_mixed_world

from adapters.jd import JdAdapter
from connector.adapter import Capability
from connector.effects import EffectKind, EffectStatus
from connector.messages import DEFAULT_TEMPLATES
from connector.store import CaseState

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)
DAY = 24 * HOUR


@pytest.fixture
def world(tmp_path: Path) -> Iterator[MixedWorld]:
    yield from make_mixed_world(tmp_path)


def _delivered(world: MixedWorld, days_ago: float) -> dict[str, str]:
    now = world.clock.now()
    return {
        "order_status": "delivered",
        "shipped_at": (now - (days_ago + 2) * DAY).isoformat(),
        "delivered_at": (now - days_ago * DAY).isoformat(),
        "logistics_status": "delivered",
    }


def _events(world: MixedWorld, case_id: str) -> list[str]:
    return [str(e.event) for e in world.store.audit_entries(case_id=case_id)]


def test_refund_application_voids_the_warehouse_order_then_replies_approve(
    world: MixedWorld,
) -> None:
    (case_id,) = world.seed_jd(
        type="refund_only", reason="changed_mind", order_status="not_shipped", paid_amount=29900
    )
    order_id = str(world.jd.case(case_id)["order_id"])
    world.warehouse_order(order_id, "jd-shop", "not_printed")

    world.daemon.run_once(full=True)

    voids = [e for e in world.warehouse_ledger() if e.get("order_id") == order_id]
    assert [e["effect"] for e in voids] == ["void_order"]
    assert world.seller_writes(world.jd, case_id) == ["agree_refund"]
    assert world.jd.case(case_id)["platform_status"] == 1  # replyRefund status 1: approved
    effects = world.store.effects_of_case(world.jd_key(case_id))
    # No order memo: JD's after-sale APIs cannot write one, so none is planned.
    assert [e.kind for e in effects] == [EffectKind.void_warehouse_order, EffectKind.agree_refund]
    void, agree = effects
    assert void.done_at is not None
    assert agree.done_at is not None
    assert void.done_at <= agree.done_at
    decision = world.store.decisions_of_case(world.jd_key(case_id))[-1]
    assert decision.params["not_planned"] == {
        "write_order_memo": JdAdapter.missing_capabilities[Capability.write_order_memo]
    }

    # JD finance settles the refund (status 1 -> 3): a new version, decided as nothing to do.
    world.advance(timedelta(minutes=6))
    world.daemon.run_once(full=True)
    assert world.jd.case(case_id)["platform_status"] == 3
    assert world.seller_writes(world.jd, case_id) == ["agree_refund"]
    assert [e["effect"] for e in world.warehouse_ledger() if e.get("order_id") == order_id] == [
        "void_order"
    ]
    assert world.record(world.jd_key(case_id)).state is CaseState.done


def test_faulty_item_refusal_goes_with_text_only_after_a_person_had_the_ask(
    world: MixedWorld,
) -> None:
    (case_id,) = world.seed_jd(
        type="refund_only", reason="damaged", paid_amount=59900, deadline_s=6 * 3600,
        **_delivered(world, 2),
    )
    world.daemon.run_once(full=True)

    # The policy would ask the buyer to change to a return; JD has no message call, so a
    # person gets the ask (JD's own chat), and nothing is written yet.
    record = world.record(world.jd_key(case_id))
    assert record.state is CaseState.queued_for_human
    assert world.seller_writes(world.jd, case_id) == []
    decision = world.store.decisions_of_case(world.jd_key(case_id))[-1]
    assert decision.action == "human"
    assert decision.rule_id == "6-ask-for-return"

    # At the guard, the rule's fallback (refuse with the delivery record) is sent as text.
    world.advance(world.until_deadline(world.jd, case_id) - timedelta(minutes=59))
    world.daemon.run_once()
    assert world.seller_writes(world.jd, case_id) == ["refuse_refund"]
    assert world.jd.case(case_id)["status"] == "refused"
    refusal = next(
        e for e in world.store.effects_of_case(world.jd_key(case_id))
        if e.kind is EffectKind.refuse_refund
    )
    assert refusal.status is EffectStatus.done
    assert refusal.params["evidence_kinds"] == ["delivery_record"]
    assert "proof_image_b64" not in refusal.params
    assert "JD" in refusal.params["proof_image_not_sent"]
    # The text does not claim an upload that never happened.
    assert "上传" not in refusal.params["message"]
    assert "上传" in DEFAULT_TEMPLATES["refusal.default"]
    world.advance(DAY * 3)
    world.daemon.run_once()
    assert world.auto_acts(world.jd) == []


@pytest.mark.parametrize("kind", ["exchange", "repair"])
def test_exchange_and_repair_go_to_a_person_escalated_then_left_to_jd(
    world: MixedWorld, kind: str
) -> None:
    ids = world.seed_jd(
        type=kind, reason="quality", refund_amount=0, paid_amount=19900, deadline_s=6 * 3600,
        **_delivered(world, 3),
    )
    world.daemon.run_once(full=True)
    for case_id in ids:
        record = world.record(world.jd_key(case_id))
        assert record.case.type.value == kind
        assert record.state is CaseState.queued_for_human
        assert world.seller_writes(world.jd, case_id) == []
    case_id = ids[0]

    world.advance(world.until_deadline(world.jd, case_id) - timedelta(minutes=59))
    world.daemon.run_once()
    assert "escalated" in _events(world, case_id)
    assert world.seller_writes(world.jd, case_id) == []

    # Rule 2 (nothing to refund) leaves the case to JD at the deadline, knowingly.
    world.advance(world.until_deadline(world.jd, case_id) - timedelta(minutes=14))
    world.daemon.run_once()
    assert world.record(world.jd_key(case_id)).state is CaseState.left_to_platform
    assert world.seller_writes(world.jd, case_id) == []
    left = world.store.cases_left_to_platform()
    assert world.jd_key(case_id) in left


def test_human_cases_take_jd_s_outcome_in_time_in_both_families(world: MixedWorld) -> None:
    (application,) = world.seed_jd(
        type="refund_only", reason="changed_mind", order_status="not_shipped", paid_amount=8800
    )
    world.warehouse_order(str(world.jd.case(application)["order_id"]), "jd-shop", "printed")
    (service,) = world.seed_jd(
        type="refund_only", reason="not_received", paid_amount=8800, deadline_s=30 * 3600,
        **_delivered(world, 1),
    )
    world.daemon.run_once(full=True)
    for case_id in (application, service):
        assert world.record(world.jd_key(case_id)).state is CaseState.queued_for_human
    # The refund application's deadline is derived (applyTime + the shop's audit rule).
    derived = world.record(world.jd_key(application)).case
    assert derived.platform_fields["deadline_source"].startswith("derived:48h")
    assert derived.deadline_at == world.clock.now().replace(microsecond=0) + 48 * HOUR

    for case_id, write in ((service, "agree_refund"), (application, "agree_refund")):
        world.advance(world.until_deadline(world.jd, case_id) - timedelta(minutes=59))
        world.daemon.run_once()
        assert "escalated" in _events(world, case_id)
        assert world.seller_writes(world.jd, case_id) == []
        world.advance(world.until_deadline(world.jd, case_id) - timedelta(minutes=14))
        world.daemon.run_once()
        assert world.seller_writes(world.jd, case_id) == [write]
        assert "deadline_fallback" in _events(world, case_id)

    world.advance(3 * DAY)
    world.daemon.run_once()
    assert world.auto_acts(world.jd) == []
    assert world.jd.case(application)["auto_acted"] is False
    assert world.jd.case(service)["auto_acted"] is False


def test_taobao_and_jd_shops_are_decided_in_the_same_pass(world: MixedWorld) -> None:
    taobao_case = world.seed_taobao(
        type="refund_only", reason="changed_mind", order_status="not_shipped",
        paid_amount=29900, deadline_s=20 * 3600,
    )
    (jd_case,) = world.seed_jd(
        type="refund_only", reason="changed_mind", order_status="not_shipped", paid_amount=15900
    )
    world.warehouse_order(str(world.taobao.case(taobao_case)["order_id"]), "taobao-shop",
                          "not_printed")
    world.warehouse_order(str(world.jd.case(jd_case)["order_id"]), "jd-shop", "not_printed")

    counts = world.daemon.run_once(full=True)

    assert counts.errors == []
    assert world.seller_writes(world.taobao, taobao_case) == ["agree_refund", "write_order_memo"]
    assert world.seller_writes(world.jd, jd_case) == ["agree_refund"]
    keys = (("taobao", "taobao-shop", taobao_case), world.jd_key(jd_case))
    for key in keys:
        assert [d.action for d in world.store.decisions_of_case(key)] == ["approve_refund"]

    # The next pass reads both platforms' new versions (our own writes): nothing more to do.
    world.advance(timedelta(minutes=1))
    world.daemon.run_once(full=True)
    for key in keys:
        assert world.record(key).state is CaseState.done
    assert world.seller_writes(world.taobao, taobao_case) == ["agree_refund", "write_order_memo"]
    assert world.seller_writes(world.jd, jd_case) == ["agree_refund"]
    assert {shop.platform for shop in world.daemon.shops.values()} == {"taobao", "jd"}
