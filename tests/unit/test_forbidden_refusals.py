"""A refusal the platform forbids goes to a person with the platform's reason, call unspent
(issue 17, point 6): the adapter declares it, the planner consults the declaration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.taobao import refusals
from adapters.taobao.adapter import TaobaoAdapter
from connector.adapter import PlatformAdapter
from connector.daemon.planner import FORBIDDEN_REFUSAL_NOTE, within_platform_rules
from connector.models import RefundCase
from connector.policy import Action, decide, load_default_policy

NOW = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


def _case(**overrides: Any) -> RefundCase:
    doc: dict[str, Any] = {
        "platform": "taobao",
        "shop_id": "s1",
        "case_id": "R1",
        "order_id": "O1",
        "item": {"sku": "SKU1", "title": "shoes", "price": 15900, "no_reason_eligible": True},
        "type": "return_and_refund",
        "reason": "no_reason_7d",
        "status": "awaiting_seller",
        "order_status": "delivered",
        "paid_amount": 15900,
        "refund_amount": 15900,
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
        "shipped_at": (NOW - timedelta(days=20)).isoformat(),
        "delivered_at": (NOW - timedelta(days=15)).isoformat(),
        "logistics": {"status": "delivered"},
        "deadline_at": (NOW + timedelta(hours=40)).isoformat(),
        "buyer": {"id": "b-anon-1"},
        "version": "v1",
    }
    doc.update(overrides)
    return RefundCase.model_validate(doc)


def test_taobao_declares_the_refusals_top_forbids() -> None:
    assert TaobaoAdapter.refusal_forbidden is not PlatformAdapter.refusal_forbidden
    no_reason = refusals.refusal_forbidden(_case())
    assert no_reason is not None
    assert no_reason.code == "isv.refuse-forbidden:no-reason-7d"
    unshipped = refusals.refusal_forbidden(_case(reason="damaged", order_status="not_shipped"))
    assert unshipped is not None
    assert unshipped.code == "isv.refuse-forbidden:unshipped"
    assert refusals.refusal_forbidden(_case(reason="damaged")) is None


def test_the_default_policy_refusal_of_a_late_no_reason_return_goes_to_a_person() -> None:
    policy = load_default_policy()
    case = _case()
    decision = decide(case, policy, NOW)
    assert decision.action is Action.reject  # the policy is kept as it is
    assert decision.rule_id == "7-no-reason-too-late"
    after = within_platform_rules(case, decision, policy, NOW, refusals.refusal_forbidden)
    assert after.action is Action.human
    assert after.rule_id == "7-no-reason-too-late"
    assert after.trace[: len(decision.trace)] == decision.trace  # why the policy would refuse
    note = after.trace[len(decision.trace)]
    assert note.en().startswith(FORBIDDEN_REFUSAL_NOTE)
    assert "isv.refuse-forbidden:no-reason-7d" in note.en()
    assert "七天无理由" in note.zh()


def test_a_platform_that_forbids_nothing_keeps_the_refusal() -> None:
    policy = load_default_policy()
    case = _case()
    decision = decide(case, policy, NOW)
    assert within_platform_rules(case, decision, policy, NOW, lambda _c: None) is decision


def test_at_the_fallback_moment_the_case_stays_a_persons() -> None:
    policy = load_default_policy()
    case = _case(deadline_at=(NOW + timedelta(minutes=10)).isoformat())
    decision = decide(case, policy, NOW)
    after = within_platform_rules(case, decision, policy, NOW, refusals.refusal_forbidden)
    assert after.action is not Action.reject
