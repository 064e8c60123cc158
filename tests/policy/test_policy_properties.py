"""Properties of the default policy over any valid case (Hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import NOW

from connector.clock import BEIJING
from connector.models import (
    CaseStatus,
    CaseType,
    EvidenceKind,
    LogisticsStatus,
    OrderStatus,
    Reason,
    RefundCase,
    ReturnLogisticsStatus,
    WarehouseState,
)
from connector.policy import (
    APPROVING_ACTIONS,
    Action,
    Decision,
    GuardApplied,
    RuleMatched,
    decide,
    load_default_policy,
    platform_timeout_outcome,
)

POLICY = load_default_policy()
CAP = POLICY.thresholds["high_value_cap"]


def _names(enum: Any) -> st.SearchStrategy[str]:
    return st.sampled_from([member.value for member in enum])


def _moment(spread: timedelta) -> st.SearchStrategy[str | None]:
    offsets = st.integers(
        min_value=-int(spread.total_seconds()), max_value=int(spread.total_seconds())
    )
    return st.none() | offsets.map(lambda s: (NOW + timedelta(seconds=s)).isoformat())


# Amounts cluster around the boundaries that matter (0, the limits, the cap) and range widely.
amounts = st.one_of(
    st.integers(min_value=-5000, max_value=400000),
    st.sampled_from([0, 1, 2000, 2001, 3000, 3001, 29900, 100000, 100001]),
)
# Deadlines cluster around the guard's steps so both are exercised often.
deadlines = st.one_of(
    st.none(),
    st.integers(min_value=-7200, max_value=7200).map(
        lambda s: (NOW + timedelta(seconds=s)).isoformat()
    ),
    _moment(timedelta(days=5)),
)


@st.composite
def case_payloads(draw: st.DrawFn) -> dict[str, Any]:
    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(st.none() | strategy)

    return {
        "platform": draw(st.sampled_from(["taobao", "tmall", "jd"])),
        "shop_id": "s",
        "case_id": "c",
        "order_id": "o",
        "item": {
            "sku": "sku",
            "price": draw(st.integers(min_value=0, max_value=400000)),
            "quantity": draw(st.integers(min_value=1, max_value=5)),
            "no_reason_eligible": draw(st.booleans()),
        },
        "type": draw(_names(CaseType)),
        "reason": draw(_names(Reason)),
        "status": draw(_names(CaseStatus)),
        "order_status": draw(_names(OrderStatus)),
        "paid_amount": draw(amounts),
        "refund_amount": draw(amounts),
        "deadline_at": draw(deadlines),
        "delivered_at": draw(_moment(timedelta(days=20))),
        "shipped_at": draw(_moment(timedelta(days=20))),
        "logistics": maybe(_names(LogisticsStatus).map(lambda s: {"status": s})),
        "return_logistics": maybe(_names(ReturnLogisticsStatus).map(lambda s: {"status": s})),
        "inspection": maybe(st.booleans().map(lambda r: {"resellable": r})),
        "evidence": draw(
            st.lists(_names(EvidenceKind).map(lambda k: {"kind": k, "url": "u"}), max_size=3)
        ),
        "buyer": {
            "id": "b",
            "refunds_90d": draw(st.integers(min_value=0, max_value=9)),
            "flagged": draw(st.booleans()),
        },
        "warehouse": maybe(_names(WarehouseState).map(lambda s: {"order_state": s})),
    }


cases = case_payloads().map(RefundCase.model_validate)
moments = st.integers(min_value=-3 * 86400, max_value=3 * 86400).map(
    lambda s: NOW + timedelta(seconds=s)
)


@settings(max_examples=1500)
@given(case=cases, now=moments)
def test_never_approves_above_paid_above_cap_or_for_a_flagged_buyer(
    case: RefundCase, now: datetime
) -> None:
    decision = decide(case, POLICY, now)
    if case.refund_amount > case.paid_amount or case.refund_amount > CAP or case.buyer.flagged:
        assert decision.action not in APPROVING_ACTIONS, decision.trace_lines()
    if decision.action in APPROVING_ACTIONS:
        assert decision.parameters.refund_amount is not None
        assert 0 < decision.parameters.refund_amount <= min(case.paid_amount, CAP)


@given(case=cases, now=moments)
def test_decide_is_deterministic(case: RefundCase, now: datetime) -> None:
    first = decide(case, POLICY, now)
    again = decide(RefundCase.model_validate(case.model_dump(mode="json")), POLICY, now)
    assert first == again
    assert first.model_dump_json() == again.model_dump_json()
    assert first.trace_lines("en") == again.trace_lines("en")
    assert first.trace_lines("zh") == again.trace_lines("zh")
    assert first.policy_version == POLICY.version
    # the same instant in another time zone is the same decision point
    assert decide(case, POLICY, now.astimezone(BEIJING)).expect_view() == first.expect_view()


@given(case=cases, now=moments)
def test_decision_survives_a_json_round_trip(case: RefundCase, now: datetime) -> None:
    decision = decide(case, POLICY, now)
    assert Decision.model_validate_json(decision.model_dump_json()) == decision


@given(case=cases, now=moments)
def test_guard_invariants(case: RefundCase, now: datetime) -> None:
    decision = decide(case, POLICY, now)
    assert isinstance(decision.trace[0], RuleMatched)
    assert decision.trace[0].rule_id == decision.rule_id
    if case.deadline_at is None:
        assert decision.guard is None
        assert not any(isinstance(s, GuardApplied) for s in decision.trace)
        return
    left = case.deadline_at - now
    if left <= POLICY.guard_escalate:
        assert decision.action not in (Action.wait, Action.ask_buyer_to_modify)
        if decision.action is Action.human:
            assert decision.parameters.escalated
    if left <= POLICY.guard_fallback and decision.action is Action.human:
        # a person keeps it at the very end only when told to, or when the platform has no outcome
        assert decision.left_to_platform or platform_timeout_outcome(case) is None
    if decision.deadline_fallback:
        assert left <= POLICY.guard_fallback
        assert decision.parameters.escalated
    if left > POLICY.guard_escalate:
        assert decision.guard is None
