"""The default policy, rule by rule, at every edge the casebook README names."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from policy_helpers import DELIVERED, NOW, decide_default, iso, make_case

from connector.policy import Action

RETURN = {"type": "return_and_refund", **DELIVERED}
NOT_RECEIVED = {"reason": "not_received", "order_status": "shipped"}


def expect(decision: Any, action: str, rule: str, **params: Any) -> None:
    view = decision.expect_view()
    assert (view["action"], decision.rule_id) == (action, rule), decision.trace_lines()
    for key, value in params.items():
        assert view[key] == value, (key, view)


# ---- rule 1 -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["refunded", "closed", "refused", "awaiting_buyer_return"])
def test_rule1_finished_statuses_need_nothing(status: str) -> None:
    expect(decide_default(make_case(status=status)), "none", "1-nothing-to-do")


def test_rule1_dispute_goes_to_a_person() -> None:
    expect(decide_default(make_case(DELIVERED, status="in_dispute")), "human", "1-in-dispute")


def test_rule1_wins_over_rule2() -> None:
    case = make_case(status="refunded", refund_amount=99999999, buyer={"flagged": True})
    expect(decide_default(case), "none", "1-nothing-to-do")


# ---- rule 2 -------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [0, -1, -29900])
def test_rule2_zero_or_negative_amount(amount: int) -> None:
    expect(decide_default(make_case(refund_amount=amount)), "human", "2-amount-not-positive")


def test_rule2_one_fen_is_positive() -> None:
    expect(decide_default(make_case(refund_amount=1)), "human", "3-partial-before-shipment")


def test_rule2_amount_equal_to_paid_is_fine() -> None:
    expect(decide_default(make_case()), "approve_refund", "3-void-then-refund")


def test_rule2_amount_one_fen_above_paid() -> None:
    expect(decide_default(make_case(refund_amount=29901)), "human", "2-amount-above-paid")


def test_rule2_flagged_buyer() -> None:
    case = make_case(buyer={"flagged": True})
    expect(decide_default(case), "human", "2-flagged-buyer")


@pytest.mark.parametrize(("refunds", "rule"), [(4, "3-void-then-refund"), (5, "2-serial-refunder")])
def test_rule2_serial_refunder_threshold_is_inclusive(refunds: int, rule: str) -> None:
    decision = decide_default(make_case(buyer={"refunds_90d": refunds}))
    assert decision.rule_id == rule


def test_rule2_cap_is_exclusive_at_1000_yuan() -> None:
    at_cap = make_case(paid_amount=100000, refund_amount=100000)
    expect(decide_default(at_cap), "approve_refund", "3-void-then-refund", refund_amount=100000)
    above = make_case(paid_amount=100001, refund_amount=100001)
    expect(decide_default(above), "human", "2-high-value")


# ---- rule 3 -------------------------------------------------------------------------------


def test_rule3_not_printed_voids_then_refunds() -> None:
    expect(
        decide_default(make_case()),
        "approve_refund",
        "3-void-then-refund",
        warehouse_void=True,
        refund_amount=29900,
        carrier_claim=False,
    )


def test_rule3_already_voided_refunds_without_void() -> None:
    case = make_case(warehouse={"order_state": "voided"})
    expect(decide_default(case), "approve_refund", "3-already-voided", warehouse_void=False)


@pytest.mark.parametrize(
    "warehouse", [{"order_state": "printed"}, {"order_state": "shipped"}, None]
)
def test_rule3_printed_shipped_or_unknown_warehouse(warehouse: Any) -> None:
    expect(decide_default(make_case(warehouse=warehouse)), "human", "3-warehouse-may-ship")


def test_rule3_partial_refund_before_shipment() -> None:
    case = make_case(refund_amount=29899)
    expect(decide_default(case), "human", "3-partial-before-shipment")


def test_rule3_applies_only_to_refund_only() -> None:
    case = make_case(type="return_and_refund")
    expect(decide_default(case), "human", "10-everything-else")


# ---- rule 4 -------------------------------------------------------------------------------


def _logistics(status: str | None) -> dict[str, Any]:
    logistics = None if status is None else {"carrier": "YTO", "waybill": "Y1", "status": status}
    return {"logistics": logistics}


@pytest.mark.parametrize("order_status", ["shipped", "delivered", "completed"])
def test_rule4_lost_parcel_refund_and_claim(order_status: str) -> None:
    case = make_case(NOT_RECEIVED, _logistics("lost"), order_status=order_status)
    expect(decide_default(case), "approve_refund", "4-parcel-lost", carrier_claim=True)


@pytest.mark.parametrize("status", ["refused", "returned"])
def test_rule4_parcel_came_back(status: str) -> None:
    case = make_case(NOT_RECEIVED, _logistics(status))
    expect(decide_default(case), "approve_refund", "4-parcel-came-back", carrier_claim=False)


def test_rule4_in_transit_waits() -> None:
    expect(
        decide_default(make_case(NOT_RECEIVED, _logistics("in_transit"))),
        "wait",
        "4-parcel-in-transit",
    )


@pytest.mark.parametrize("status", ["delivered", None])
def test_rule4_delivered_or_no_trace_goes_to_a_person(status: str | None) -> None:
    case = make_case(NOT_RECEIVED, _logistics(status))
    expect(decide_default(case), "human", "4-delivered-or-unknown")


def test_rule4_not_received_before_shipment_is_rule3() -> None:
    case = make_case(reason="not_received")
    assert decide_default(case).rule_id == "3-void-then-refund"


# ---- rule 5 -------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["shipping_fee", "price_difference"])
@pytest.mark.parametrize("amount", [1, 1200, 2000])
def test_rule5_small_fee_refunds_the_requested_amount(reason: str, amount: int) -> None:
    case = make_case(DELIVERED, reason=reason, refund_amount=amount)
    expect(decide_default(case), "approve_refund", "5-small-fee-refund", refund_amount=amount)


@pytest.mark.parametrize("reason", ["shipping_fee", "price_difference"])
def test_rule5_one_fen_above_20_yuan(reason: str) -> None:
    case = make_case(DELIVERED, reason=reason, refund_amount=2001)
    expect(decide_default(case), "human", "5-large-fee-refund", refund_amount=None)


# ---- rule 6 -------------------------------------------------------------------------------


def _faulty(paid: int, *kinds: str, reason: str = "quality", **more: Any) -> Any:
    evidence = [{"kind": k, "url": f"https://img/{k}"} for k in kinds]
    return make_case(
        DELIVERED, reason=reason, paid_amount=paid, refund_amount=paid, evidence=evidence, **more
    )


@pytest.mark.parametrize("kind", ["photo", "video"])
@pytest.mark.parametrize("reason", ["quality", "damaged", "not_as_described"])
def test_rule6_cheap_item_with_photo_or_video_is_refunded(kind: str, reason: str) -> None:
    case = _faulty(3000, kind, reason=reason)
    expect(decide_default(case), "approve_refund", "6-cheap-item-with-evidence", refund_amount=3000)


def test_rule6_one_fen_above_30_yuan_asks_for_a_return() -> None:
    decision = decide_default(_faulty(3001, "photo"))
    expect(
        decision,
        "ask_buyer_to_modify",
        "6-ask-for-return",
        fallback="reject",
        evidence_kinds=["delivery_record"],
        refund_amount=None,
    )


@pytest.mark.parametrize("kinds", [(), ("chat",)])
def test_rule6_cheap_item_without_photo_or_video_asks(kinds: tuple[str, ...]) -> None:
    expect(decide_default(_faulty(1900, *kinds)), "ask_buyer_to_modify", "6-ask-for-return")


def test_rule6_completed_order_counts_as_delivered() -> None:
    case = _faulty(1900, "photo", order_status="completed")
    assert decide_default(case).rule_id == "6-cheap-item-with-evidence"


def test_rule6_needs_delivery() -> None:
    case = _faulty(1900, "photo", order_status="shipped")
    expect(decide_default(case), "human", "10-everything-else")


# ---- rule 7 -------------------------------------------------------------------------------

WEEK = timedelta(hours=7 * 24)


def _no_reason(delivered: Any, eligible: bool = True) -> Any:
    return make_case(
        RETURN,
        reason="no_reason_7d",
        delivered_at=delivered if delivered is None else iso(delivered),
        item={"no_reason_eligible": eligible},
    )


@pytest.mark.parametrize("ago", [timedelta(0), timedelta(days=3), WEEK])
def test_rule7_within_7x24_hours_inclusive(ago: timedelta) -> None:
    expect(
        decide_default(_no_reason(NOW - ago)),
        "approve_return",
        "7-no-reason-in-window",
        return_shipping_paid_by="buyer",
        refund_amount=29900,
    )


@pytest.mark.parametrize("ago", [WEEK + timedelta(seconds=1), timedelta(days=12)])
def test_rule7_one_second_late_is_rejected_with_delivery_record(ago: timedelta) -> None:
    expect(
        decide_default(_no_reason(NOW - ago)),
        "reject",
        "7-no-reason-too-late",
        evidence_kinds=["delivery_record"],
        refund_amount=None,
    )


def test_rule7_unknown_delivery_time() -> None:
    expect(decide_default(_no_reason(None)), "human", "7-no-reason-unclear")


@pytest.mark.parametrize("ago", [timedelta(days=1), timedelta(days=30)])
def test_rule7_ineligible_item(ago: timedelta) -> None:
    expect(decide_default(_no_reason(NOW - ago, eligible=False)), "human", "7-no-reason-unclear")


def test_rule7_window_is_measured_from_now_not_the_wall_clock() -> None:
    case = _no_reason(NOW - timedelta(days=3))
    later = NOW + timedelta(days=5)
    assert decide_default(case, later).rule_id == "7-no-reason-too-late"


# ---- rule 8 -------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["quality", "damaged", "not_as_described", "wrong_item_sent"])
@pytest.mark.parametrize("kind", ["photo", "video"])
def test_rule8_fault_with_evidence_seller_pays(reason: str, kind: str) -> None:
    case = make_case(RETURN, reason=reason, evidence=[{"kind": kind, "url": "u"}])
    expect(
        decide_default(case),
        "approve_return",
        "8-fault-with-evidence",
        return_shipping_paid_by="seller",
    )


@pytest.mark.parametrize("evidence", [[], [{"kind": "chat", "url": "u"}]])
def test_rule8_fault_without_photo_or_video(evidence: list[Any]) -> None:
    case = make_case(RETURN, reason="quality", evidence=evidence)
    expect(decide_default(case), "human", "8-fault-without-evidence")


def test_rule8_subjective_reason_is_rule10() -> None:
    case = make_case(RETURN, reason="changed_mind", evidence=[{"kind": "photo", "url": "u"}])
    expect(decide_default(case), "human", "10-everything-else")


# ---- rule 9 -------------------------------------------------------------------------------


def _receipt(ret: str | None, resellable: bool | None) -> Any:
    return make_case(
        RETURN,
        reason="no_reason_7d",
        status="awaiting_seller_receipt",
        return_logistics=None if ret is None else {"carrier": "ZTO", "waybill": "Z", "status": ret},
        inspection=None if resellable is None else {"resellable": resellable, "note": ""},
    )


def test_rule9_delivered_and_resellable() -> None:
    expect(
        decide_default(_receipt("delivered", True)),
        "confirm_return_and_refund",
        "9-received-resellable",
        refund_amount=29900,
    )


@pytest.mark.parametrize("ret", ["delivered", "in_transit"])
def test_rule9_not_resellable_goes_to_a_person(ret: str) -> None:
    expect(decide_default(_receipt(ret, False)), "human", "9-not-resellable")


@pytest.mark.parametrize(
    ("ret", "resellable"),
    [("in_transit", None), ("delivered", None), (None, None), ("in_transit", True)],
)
def test_rule9_not_back_or_not_inspected_waits(ret: str | None, resellable: bool | None) -> None:
    expect(decide_default(_receipt(ret, resellable)), "wait", "9-not-back-yet")


# ---- rule 10 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "exchange", "reason": "quality"},
        {"type": "repair", "reason": "quality"},
        {"reason": "invoice"},
        {"reason": "other"},
        {"reason": "late_shipment"},
        {"type": "return_and_refund", "reason": "out_of_stock"},
    ],
)
def test_rule10_everything_else(fields: dict[str, Any]) -> None:
    case = make_case(DELIVERED, **fields)
    decision = decide_default(case)
    expect(decision, "human", "10-everything-else", escalated=False)
    assert decision.action is Action.human
