"""Turn a policy Decision into the outbox effects that carry it out, in the order they must land.

Pure: the daemon writes what this returns in the same unit of work as the decision and its audit
entry. A void of the warehouse order precedes the refund it makes safe; a memo follows a refund so
people using the platform's own tools never refund twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.effects import EffectKind
from connector.messages import MessageTemplates
from connector.models import RefundCase
from connector.policy import Action, Decision, Policy
from connector.store.api import CaseState, EffectSpec


@dataclass(frozen=True, slots=True)
class Plan:
    """What the store records for one decision."""

    effects: tuple[EffectSpec, ...]
    state: CaseState
    next_review_at: datetime | None
    escalate: bool
    """Alert a reviewer now (queue + notification)."""


def review_times(case: RefundCase, policy: Policy) -> tuple[datetime | None, datetime | None]:
    """The two moments rule 11 may change the answer: escalate, then take the fallback."""
    if case.deadline_at is None:
        return None, None
    return case.deadline_at - policy.guard_escalate, case.deadline_at - policy.guard_fallback


def next_review(case: RefundCase, policy: Policy, now: datetime) -> datetime | None:
    """The next guard moment still ahead of ``now`` (None when both have passed)."""
    for moment in review_times(case, policy):
        if moment is not None and moment > now:
            return moment
    return None


def plan(
    case: RefundCase,
    decision: Decision,
    policy: Policy,
    now: datetime,
    templates: MessageTemplates,
) -> Plan:
    """Effects and the case's next state for ``decision`` on ``case`` at ``now``."""
    p = decision.parameters
    action = decision.action
    amount = p.refund_amount if p.refund_amount is not None else case.refund_amount
    review_at = next_review(case, policy, now)
    effects: list[EffectSpec] = []
    if action is Action.approve_refund:
        if p.warehouse_void:
            effects.append(EffectSpec(kind=EffectKind.void_warehouse_order, params={}))
        effects.append(EffectSpec(kind=EffectKind.agree_refund, params={"amount": amount}))
        if p.carrier_claim:
            effects.append(EffectSpec(kind=EffectKind.open_carrier_claim, params={}))
        effects.append(_memo(templates, case, amount))
    elif action is Action.confirm_return_and_refund:
        effects.append(
            EffectSpec(kind=EffectKind.confirm_return_and_refund, params={"amount": amount})
        )
        effects.append(_memo(templates, case, amount))
    elif action is Action.approve_return:
        effects.append(
            EffectSpec(
                kind=EffectKind.agree_return,
                params={"return_shipping_paid_by": p.return_shipping_paid_by or "buyer"},
            )
        )
    elif action is Action.reject:
        effects.append(
            EffectSpec(
                kind=EffectKind.refuse_refund,
                params={
                    "message": templates.refusal(case),
                    "evidence_kinds": sorted(k.value for k in p.evidence_kinds),
                },
            )
        )
    elif action is Action.ask_buyer_to_modify:
        effects.append(
            EffectSpec(
                kind=EffectKind.message_buyer,
                params={"content": templates.ask_to_modify(case), "purpose": "ask_to_modify"},
            )
        )
    state = _state_after(decision, bool(effects))
    if state in (CaseState.done, CaseState.left_to_platform):
        review_at = None
    return Plan(
        effects=tuple(effects),
        state=state,
        next_review_at=review_at,
        escalate=p.escalated,
    )


def _memo(templates: MessageTemplates, case: RefundCase, amount: int) -> EffectSpec:
    return EffectSpec(
        kind=EffectKind.write_order_memo, params={"memo": templates.refund_memo(case, amount)}
    )


def _state_after(decision: Decision, has_effects: bool) -> CaseState:
    if decision.left_to_platform:
        return CaseState.left_to_platform
    if decision.action is Action.human:
        return CaseState.queued_for_human
    if decision.action is Action.none:
        return CaseState.done
    if decision.action is Action.wait or not has_effects:
        return CaseState.waiting
    return CaseState.decided


GUARD_SLACK = timedelta(seconds=0)
