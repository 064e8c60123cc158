"""Rule 11, the deadline guard: exact boundaries and every kind of base decision."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from policy_helpers import DELIVERED, NOW, decide_default, iso, make_case

from connector.policy import GuardApplied, GuardStep, RuleMatched, decide, parse_policy

HOUR, QUARTER, SECOND = timedelta(minutes=60), timedelta(minutes=15), timedelta(seconds=1)
RETURN = {"type": "return_and_refund", **DELIVERED}


def due(left: timedelta) -> dict[str, Any]:
    return {"deadline_at": iso(NOW + left)}


def waiting_return(left: timedelta) -> Any:  # P018: the return is in transit
    return make_case(
        RETURN,
        due(left),
        reason="no_reason_7d",
        status="awaiting_seller_receipt",
        return_logistics={"carrier": "ZTO", "waybill": "Z", "status": "in_transit"},
    )


def human_return(left: timedelta) -> Any:  # P015: not as described, no photos
    return make_case(RETURN, due(left), reason="not_as_described")


def human_refund(left: timedelta) -> Any:  # P008: trace says delivered
    return make_case(DELIVERED, due(left), reason="not_received")


def ask_case(left: timedelta) -> Any:  # P010: damaged goods the buyer holds
    return make_case(
        DELIVERED, due(left), reason="damaged", evidence=[{"kind": "photo", "url": "u"}]
    )


def test_no_deadline_no_guard() -> None:
    case = waiting_return(HOUR).model_copy(update={"deadline_at": None})
    decision = decide_default(case)
    assert (decision.action, decision.guard) == ("wait", None)


@pytest.mark.parametrize(
    "build", [waiting_return, human_return, ask_case], ids=["wait", "human", "ask"]
)
def test_more_than_an_hour_left_changes_nothing(build: Any) -> None:
    decision = decide_default(build(HOUR + SECOND))
    assert decision.guard is None
    assert decision.parameters.escalated is False
    assert not any(isinstance(s, GuardApplied) for s in decision.trace)


@pytest.mark.parametrize("left", [HOUR, QUARTER + SECOND])
def test_wait_becomes_escalated_human_within_an_hour(left: timedelta) -> None:
    decision = decide_default(waiting_return(left))
    assert decision.action == "human"
    assert decision.parameters.escalated is True
    assert decision.guard is GuardStep.escalate
    assert decision.rule_id == "9-not-back-yet"
    assert decision.deadline_fallback is False


@pytest.mark.parametrize("left", [HOUR, QUARTER + SECOND])
def test_human_is_escalated_within_an_hour(left: timedelta) -> None:
    decision = decide_default(human_return(left))
    assert (decision.action, decision.parameters.escalated) == ("human", True)
    assert decision.guard is GuardStep.escalate


@pytest.mark.parametrize("left", [HOUR, QUARTER, timedelta(minutes=1), -timedelta(minutes=5)])
def test_ask_falls_back_to_reject_with_delivery_record(left: timedelta) -> None:
    decision = decide_default(ask_case(left))
    view = decision.expect_view()
    assert view["action"] == "reject"
    assert view["evidence_kinds"] == ["delivery_record"]
    assert view["fallback"] is None
    assert decision.guard is GuardStep.escalate
    assert decision.rule_id == "6-ask-for-return"


@pytest.mark.parametrize(
    ("build", "outcome"),
    [
        (human_refund, "approve_refund"),
        (human_return, "approve_return"),
        (waiting_return, "confirm_return_and_refund"),
    ],
    ids=["refund_only", "return-awaiting-seller", "return-awaiting-receipt"],
)
@pytest.mark.parametrize("left", [QUARTER, timedelta(0), -timedelta(hours=2)])
def test_last_quarter_takes_the_platform_outcome(build: Any, outcome: str, left: timedelta) -> None:
    decision = decide_default(build(left))
    assert decision.action == outcome
    assert decision.deadline_fallback is True
    assert decision.parameters.escalated is True
    assert decision.parameters.refund_amount == 29900
    assert decision.guard is GuardStep.deadline_fallback
    assert decision.left_to_platform is False


def test_quarter_plus_one_second_is_not_yet_a_fallback() -> None:
    decision = decide_default(human_refund(QUARTER + SECOND))
    assert (decision.action, decision.deadline_fallback) == ("human", False)


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "exchange", "reason": "quality"},
        {"type": "repair", "reason": "quality"},
        {"status": "in_dispute"},
    ],
)
def test_no_platform_timeout_keeps_an_escalated_human(fields: dict[str, Any]) -> None:
    decision = decide_default(make_case(DELIVERED, due(timedelta(minutes=5)), **fields))
    assert decision.action == "human"
    assert decision.parameters.escalated is True
    assert decision.deadline_fallback is False
    assert decision.guard is GuardStep.deadline_fallback
    assert decision.trace[-1].kind == "guard"
    assert decision.trace[-1].note == "no_platform_outcome"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "fields",
    [
        {"refund_amount": 39900},
        {"refund_amount": 0},
        {"buyer": {"flagged": True}},
        {"buyer": {"refunds_90d": 5}},
        {"paid_amount": 259900, "refund_amount": 259900},
    ],
)
def test_rule2_cases_are_left_to_the_platform(fields: dict[str, Any]) -> None:
    decision = decide_default(make_case(due(timedelta(minutes=10)), **fields))
    assert decision.action == "human"
    assert decision.left_to_platform is True
    assert decision.deadline_fallback is False
    assert decision.parameters.escalated is True
    assert decision.rule_id is not None
    assert decision.rule_id.startswith("2-")


def test_rule2_an_hour_before_is_only_escalated() -> None:
    decision = decide_default(make_case(due(HOUR), buyer={"flagged": True}))
    assert (decision.action, decision.left_to_platform) == ("human", False)
    assert decision.parameters.escalated is True


@pytest.mark.parametrize(
    "fields",
    [{}, {"status": "refunded"}, {"type": "return_and_refund", **RETURN, "reason": "no_reason_7d"}],
)
def test_decided_actions_are_untouched_near_the_deadline(fields: dict[str, Any]) -> None:
    decision = decide_default(make_case(due(timedelta(minutes=1)), **fields))
    assert decision.guard is None
    assert decision.parameters.escalated is False
    assert decision.deadline_fallback is False


def test_trace_keeps_the_matched_rule_and_names_the_guard() -> None:
    decision = decide_default(waiting_return(timedelta(minutes=10)))
    assert isinstance(decision.trace[0], RuleMatched)
    assert decision.trace[0].rule_id == "9-not-back-yet"
    guards = [s for s in decision.trace if isinstance(s, GuardApplied)]
    assert [(g.step, g.before, g.after) for g in guards] == [
        (GuardStep.escalate, "wait", "human"),
        (GuardStep.deadline_fallback, "human", "confirm_return_and_refund"),
    ]
    assert guards[0].seconds_left == 600
    en, zh = decision.trace_lines("en"), decision.trace_lines("zh")
    assert "deadline guard" in en[-1]
    assert "10m left" in en[-1]
    assert "超时保护" in zh[-1]
    assert "剩余10分钟" in zh[-1]


GUARD_THRESHOLDS = '[thresholds]\ndeadline_escalate = "60m"\ndeadline_fallback = "15m"\n'


def test_ask_with_human_fallback_then_takes_the_platform_outcome() -> None:
    policy = parse_policy(
        GUARD_THRESHOLDS
        + """
[[rules]]
id = "ask"
description = "ask, a person decides at the deadline"
action = "ask_buyer_to_modify"
fallback = "human"
""",
        "ask.toml",
    )
    case = human_refund(timedelta(minutes=30))
    assert decide(case, policy, NOW).expect_view()["action"] == "human"
    assert decide(case, policy, NOW).parameters.escalated is True
    late = decide(human_refund(timedelta(minutes=10)), policy, NOW)
    assert (late.action, late.deadline_fallback) == ("approve_refund", True)


def test_no_rule_matched_is_a_guarded_human() -> None:
    policy = parse_policy(
        GUARD_THRESHOLDS
        + '[[rules]]\nid = "only"\ndescription = "d"\nwhen.status = "closed"\naction = "none"\n',
        "narrow.toml",
    )
    early = decide(human_refund(timedelta(days=1)), policy, NOW)
    assert (early.action, early.rule_id, early.trace[0].kind) == ("human", None, "no_match")
    late = decide(human_refund(timedelta(minutes=10)), policy, NOW)
    assert (late.action, late.deadline_fallback) == ("approve_refund", True)


def test_wait_rule_may_leave_to_platform() -> None:
    policy = parse_policy(
        GUARD_THRESHOLDS
        + '[[rules]]\nid = "w"\ndescription = "d"\naction = "wait"\n'
        + 'on_deadline = "leave_to_platform"\n',
        "wait.toml",
    )
    decision = decide(human_refund(timedelta(minutes=10)), policy, NOW)
    assert (decision.action, decision.left_to_platform) == ("human", True)
    assert decision.parameters.escalated is True


def test_custom_guard_thresholds_are_used() -> None:
    policy = parse_policy(
        '[thresholds]\ndeadline_escalate = "3h"\ndeadline_fallback = "1h"\n'
        '[[rules]]\nid = "h"\ndescription = "d"\naction = "human"\n',
        "wide.toml",
    )
    assert decide(human_refund(timedelta(hours=3)), policy, NOW).guard is GuardStep.escalate
    assert decide(human_refund(timedelta(hours=1)), policy, NOW).deadline_fallback is True
    assert decide(human_refund(timedelta(hours=3, seconds=1)), policy, NOW).guard is None
