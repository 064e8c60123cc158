"""Turn a policy Decision into the outbox effects that carry it out, in the order they must land.

Pure: the daemon writes what this returns in the same unit of work as the decision and its audit
entry. A void of the warehouse order precedes the refund it makes safe; a memo follows a refund so
people using the platform's own tools never refund twice. Only what the shop's adapter can do is
planned: an action it cannot carry out goes to a person (``ACTION_CAPABILITY``), and a courtesy
effect it cannot make is left out and named (``Plan.not_planned``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.adapter import EFFECT_CAPABILITY, Capability, ForbiddenRefusal
from connector.effects import EffectKind
from connector.messages import MessageTemplates
from connector.models import RefundCase
from connector.policy import Action, DaemonNote, Decision, Policy, decide_for_person
from connector.store.api import CaseState, EffectSpec

ACTION_CAPABILITY: dict[Action, Capability] = {
    Action.approve_refund: Capability.agree_refund,
    Action.confirm_return_and_refund: Capability.confirm_return_and_refund,
    Action.approve_return: Capability.agree_return,
    Action.reject: Capability.refuse_refund,
    Action.ask_buyer_to_modify: Capability.message_buyer,
}
"""What an action cannot be carried out without; where the adapter lacks it, a person acts."""

OPTIONAL_EFFECTS = frozenset({EffectKind.write_order_memo})
"""Effects a decision does without where the adapter cannot make them: courtesies, not answers."""

EVERY_CAPABILITY = frozenset(Capability)


@dataclass(frozen=True, slots=True)
class Plan:
    """What the store records for one decision."""

    effects: tuple[EffectSpec, ...]
    state: CaseState
    next_review_at: datetime | None
    escalate: bool
    """Alert a reviewer now (queue + notification)."""
    not_planned: tuple[EffectKind, ...] = ()
    """Optional effects left out because the shop's adapter cannot make them."""


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


FORBIDDEN_REFUSAL_NOTE = "platform forbids this refusal"
"""Starts the note's English text: the demo and reports count these cases by it."""


def within_platform_rules(
    case: RefundCase,
    decision: Decision,
    policy: Policy,
    now: datetime,
    refusal_forbidden: Callable[[RefundCase], ForbiddenRefusal | None],
) -> Decision:
    """A refusal the shop's platform is known to forbid goes to a person, call unspent.

    The adapter declares what its platform forbids (``PlatformAdapter.refusal_forbidden``, e.g.
    Taobao's 7-day no-reason returns); the person sees the platform's code and reason. Should
    the guard's fallback ask to refuse again, the case stays a person's. Guarded by
    tests/unit/test_forbidden_refusals.py.
    """
    if decision.action is not Action.reject:
        return decision
    forbidden = refusal_forbidden(case)
    if forbidden is None:
        return decision
    note = DaemonNote(
        text_en=f"{FORBIDDEN_REFUSAL_NOTE} ({forbidden.code} {forbidden.platform_words}): "
        f"{forbidden.reason_en}; a person decides",
        text_zh=f"平台不允许拒绝（{forbidden.code} {forbidden.platform_words}）："
        f"{forbidden.reason_zh}；转人工处理",
    )
    person = decide_for_person(case, policy, now, rule_id=decision.rule_id, note=note)
    update: dict[str, object] = {"trace": (*decision.trace, *person.trace)}  # why it would refuse
    if person.action is Action.reject:
        update["action"] = Action.human
    return person.model_copy(update=update)


def plan(
    case: RefundCase,
    decision: Decision,
    policy: Policy,
    now: datetime,
    templates: MessageTemplates,
    capabilities: frozenset[Capability] = EVERY_CAPABILITY,
) -> Plan:
    """Effects and the case's next state for ``decision`` on ``case`` at ``now``.

    ``capabilities`` are the shop adapter's: optional effects outside them are not planned.
    """
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
                    "message": templates.refusal(
                        case,
                        proof_uploaded=Capability.refuse_with_proof_image in capabilities,
                    ),
                    "template": templates.refusal_template(case),
                    "evidence_kinds": sorted(k.value for k in p.evidence_kinds),
                    **(
                        {"reason_id": reason_id}
                        if (reason_id := templates.refusal_reason_id(case))
                        else {}
                    ),
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
    not_planned = tuple(
        spec.kind
        for spec in effects
        if spec.kind in OPTIONAL_EFFECTS and EFFECT_CAPABILITY[spec.kind] not in capabilities
    )
    effects = [spec for spec in effects if spec.kind not in not_planned]
    state = _state_after(decision, bool(effects))
    if state in (CaseState.done, CaseState.left_to_platform):
        review_at = None
    return Plan(
        effects=tuple(effects),
        state=state,
        next_review_at=review_at,
        escalate=p.escalated,
        not_planned=not_planned,
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
