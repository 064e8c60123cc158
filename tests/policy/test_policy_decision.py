"""The Decision object: its casebook view, its trace in two languages, its purity contract."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from policy_helpers import DELIVERED, NOW, decide_default, iso, make_case

from connector.models import parse_case
from connector.policy import (
    EXPECT_KEYS,
    ConditionChecked,
    decide,
    decide_quarantined,
    load_default_policy,
)


def test_expect_view_has_exactly_the_casebook_keys() -> None:
    view = decide_default(make_case()).expect_view()
    assert list(view) == list(EXPECT_KEYS)
    assert view == {
        "action": "approve_refund",
        "warehouse_void": True,
        "carrier_claim": False,
        "refund_amount": 29900,
        "fallback": None,
        "return_shipping_paid_by": None,
        "evidence_kinds": [],
        "escalated": False,
    }


def test_decision_is_frozen() -> None:
    decision = decide_default(make_case())
    with pytest.raises(ValueError, match="frozen"):
        decision.action = "human"  # type: ignore[assignment]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(make_case(), load_default_policy(), datetime(2026, 11, 12, 10, 0))


def test_trace_lists_each_condition_of_the_matched_rule_with_actual_values() -> None:
    decision = decide_default(make_case(refund_amount=39900))
    conditions = [s for s in decision.trace if isinstance(s, ConditionChecked)]
    assert [(c.field, c.op, c.expected, c.actual, c.passed) for c in conditions] == [
        ("refund_amount", "gt", "paid_amount (29900)", "39900", True)
    ]
    en = decision.trace_lines("en")
    assert en[0].startswith("matched rule 2-amount-above-paid (#4)")
    assert "refund_amount > paid_amount (29900) (actual: 39900)" in en[1]
    zh = decision.trace_lines("zh")
    assert zh[0].startswith("命中规则 2-amount-above-paid（第4条）：退款金额超过实付金额")
    assert "退款金额(refund_amount) > paid_amount (29900)（实际值：39900）" in zh[1]


def test_time_conditions_show_how_long_ago() -> None:
    case = make_case(
        DELIVERED,
        type="return_and_refund",
        reason="no_reason_7d",
        delivered_at=iso(NOW - timedelta(days=2, hours=3)),
    )
    en = "\n".join(decide_default(case).trace_lines("en"))
    zh = "\n".join(decide_default(case).trace_lines("zh"))
    assert "delivered_at is within no_reason_window (7d) of now" in en
    assert "2d 3h ago" in en
    assert "距现在不超过 no_reason_window (7d)" in zh
    assert "2天3小时前" in zh


def test_null_facts_render_as_null() -> None:
    decision = decide_default(make_case(warehouse=None))
    assert decision.rule_id == "3-warehouse-may-ship"
    assert decision.summary() == "human"
    assert decision.summary("zh") == "转人工"


def test_summary_names_the_set_parameters() -> None:
    decision = decide_default(make_case(DELIVERED, reason="damaged"))
    assert (
        decision.summary() == "ask_buyer_to_modify fallback=reject evidence_kinds=delivery_record"
    )


def test_quarantined_decision() -> None:
    parsed = parse_case({"platform": "taobao", "refund_amount": 1.5})
    assert not hasattr(parsed, "buyer")
    decision = decide_quarantined(parsed, load_default_policy(), NOW)  # type: ignore[arg-type]
    assert (decision.action, decision.rule_id, decision.quarantined) == ("human", None, True)
    assert "refund_amount" in decision.trace_lines("en")[0]
    assert decision.trace_lines("zh")[0].startswith("售后单数据校验失败")
