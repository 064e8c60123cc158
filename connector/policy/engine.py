"""``decide``: a pure function of (case, policy, now). No I/O, no wall clock, no randomness.

Rules are tried in order; the first whose conditions all hold gives the action. The deadline
guard (rule 11) then reshapes that result as the platform's deadline approaches.
"""

from __future__ import annotations

from datetime import datetime

from connector.models import CaseStatus, CaseType, QuarantinedCase, RefundCase
from connector.policy.decision import (
    Action,
    ConditionChecked,
    DaemonNote,
    Decision,
    DecisionParameters,
    GuardApplied,
    GuardNote,
    GuardStep,
    NoRuleMatched,
    OnDeadline,
    Quarantined,
    RuleMatched,
    TraceStep,
)
from connector.policy.model import Policy, Rule

PLATFORM_TIMEOUT_OUTCOME: dict[tuple[CaseStatus, CaseType], Action] = {
    (CaseStatus.awaiting_seller, CaseType.refund_only): Action.approve_refund,
    (CaseStatus.awaiting_seller, CaseType.return_and_refund): Action.approve_return,
    (CaseStatus.awaiting_seller_receipt, CaseType.return_and_refund): (
        Action.confirm_return_and_refund
    ),
}
"""What the platform does for the buyer when the seller's deadline passes (DOMAIN: 超时).
Other statuses have no seller timeout, so a person keeps them."""

_GUARDED = frozenset({Action.wait, Action.human, Action.ask_buyer_to_modify})


def platform_timeout_outcome(case: RefundCase) -> Action | None:
    """The platform's own outcome at the seller's deadline, or None where it has none."""
    return PLATFORM_TIMEOUT_OUTCOME.get((case.status, case.type))


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        msg = "decide() needs a timezone-aware 'now'"
        raise ValueError(msg)


def _match(
    case: RefundCase, policy: Policy, now: datetime
) -> tuple[Rule | None, list[ConditionChecked]]:
    for rule in policy.rules:
        checked: list[ConditionChecked] = []
        for condition in rule.conditions:
            step = condition.check(case, now, policy.thresholds, rule.id)
            if not step.passed:
                break
            checked.append(step)
        else:
            return rule, checked
    return None, []


def _parameters_for(action: Action, rule: Rule | None, case: RefundCase) -> DecisionParameters:
    """The parameters the rule gives ``action`` (its own action or its fallback)."""
    if rule is None:
        return DecisionParameters(escalated=False)
    refund: int | None = None
    if action in (Action.approve_refund, Action.approve_return, Action.confirm_return_and_refund):
        fixed = rule.refund_amount
        # A fixed amount never exceeds what the buyer asked for.
        refund = min(fixed, case.refund_amount) if isinstance(fixed, int) else case.refund_amount
    own = action is rule.action
    return DecisionParameters(
        refund_amount=refund,
        warehouse_void=rule.warehouse_void and action is Action.approve_refund,
        carrier_claim=rule.carrier_claim and action is Action.approve_refund,
        fallback=rule.fallback if own and action is Action.ask_buyer_to_modify else None,
        return_shipping_paid_by=(
            rule.return_shipping_paid_by if action is Action.approve_return else None
        ),
        evidence_kinds=(
            rule.evidence_kinds
            if action is Action.reject
            or (own and action is Action.ask_buyer_to_modify and rule.fallback is Action.reject)
            else ()
        ),
        escalated=rule.escalate,
    )


class _Guarded:
    """The mutable working state of the deadline guard (kept out of the frozen Decision)."""

    def __init__(self, action: Action, params: DecisionParameters) -> None:
        self.action = action
        self.params = params
        self.guard: GuardStep | None = None
        self.deadline_fallback = False
        self.left_to_platform = False
        self.steps: list[TraceStep] = []

    def record(
        self, step: GuardStep, left: int, threshold: int, note: GuardNote, before: Action
    ) -> None:
        self.guard = step
        self.steps.append(
            GuardApplied(
                step=step,
                seconds_left=left,
                threshold_seconds=threshold,
                note=note,
                before=before,
                after=self.action,
            )
        )

    def escalate(self) -> None:
        self.params = self.params.model_copy(update={"escalated": True})


def _apply_guard(
    case: RefundCase, policy: Policy, now: datetime, rule: Rule | None, state: _Guarded
) -> None:
    """Rule 11: as the deadline nears, nothing waits, people are alerted, and at the very end a
    human's case takes the platform's timeout outcome (or is knowingly left to the platform)."""
    if case.deadline_at is None or state.action not in _GUARDED:
        return
    left = case.deadline_at - now
    seconds_left = int(left.total_seconds())
    escalate_at, fallback_at = policy.guard_escalate, policy.guard_fallback
    if left > escalate_at:
        return
    threshold = int(escalate_at.total_seconds())
    before = state.action
    if state.action is Action.wait:
        state.action = Action.human
        state.escalate()
        state.record(GuardStep.escalate, seconds_left, threshold, "wait_to_human", before)
    elif state.action is Action.human:
        state.escalate()
        state.record(GuardStep.escalate, seconds_left, threshold, "human_escalated", before)
    else:  # ask_buyer_to_modify: the buyer's time to modify is up
        fallback = state.params.fallback or Action.human
        state.action = fallback
        state.params = _parameters_for(fallback, rule, case)
        if fallback is Action.human:
            state.escalate()
        state.record(GuardStep.escalate, seconds_left, threshold, "ask_to_fallback", before)

    if left > fallback_at or state.action is not Action.human:
        return
    threshold = int(fallback_at.total_seconds())
    state.escalate()
    on_deadline = rule.on_deadline if rule is not None else OnDeadline.platform_outcome
    outcome = platform_timeout_outcome(case)
    if on_deadline is OnDeadline.leave_to_platform:
        state.left_to_platform = True
        note: GuardNote = "left_to_platform"
    elif outcome is None:
        note = "no_platform_outcome"
    else:
        state.action = outcome
        state.deadline_fallback = True
        state.params = DecisionParameters(refund_amount=case.refund_amount, escalated=True)
        note = "platform_outcome"
    state.record(GuardStep.deadline_fallback, seconds_left, threshold, note, Action.human)


def decide(case: RefundCase, policy: Policy, now: datetime) -> Decision:
    """Decide one case by ``policy`` at ``now`` (aware). Same inputs, same Decision."""
    _require_aware(now)
    rule, checked = _match(case, policy, now)
    trace: list[TraceStep] = []
    if rule is None:
        action = Action.human
        trace.append(NoRuleMatched(rules_checked=len(policy.rules)))
    else:
        action = rule.action
        trace.append(
            RuleMatched(
                rule_id=rule.id,
                position=rule.position,
                description=rule.description,
                description_zh=rule.description_zh,
            )
        )
        trace.extend(checked)
    state = _Guarded(action, _parameters_for(action, rule, case))
    _apply_guard(case, policy, now, rule, state)
    trace.extend(state.steps)
    return Decision(
        action=state.action,
        parameters=state.params,
        rule_id=None if rule is None else rule.id,
        guard=state.guard,
        deadline_fallback=state.deadline_fallback,
        left_to_platform=state.left_to_platform,
        trace=tuple(trace),
        policy_version=policy.version,
        decided_at=now,
    )


def decide_quarantined(quarantined: QuarantinedCase, policy: Policy, now: datetime) -> Decision:
    """A payload that failed validation is never decided by rules: a person gets it, with why."""
    _require_aware(now)
    return Decision(
        action=Action.human,
        rule_id=None,
        quarantined=True,
        trace=(Quarantined(problems=tuple(str(p) for p in quarantined.problems)),),
        policy_version=policy.version,
        decided_at=now,
    )


def decide_for_person(
    case: RefundCase,
    policy: Policy,
    now: datetime,
    *,
    rule_id: str | None,
    note: DaemonNote,
) -> Decision:
    """The platform refused what the policy decided (e.g. it forbids refusing a no-reason
    return): a person owns the case now, and the deadline guard treats it as any human case,
    honouring the original rule's ``on_deadline``."""
    _require_aware(now)
    rule = next((r for r in policy.rules if r.id == rule_id), None)
    state = _Guarded(Action.human, DecisionParameters(escalated=True))
    _apply_guard(case, policy, now, rule, state)
    return Decision(
        action=state.action,
        parameters=state.params,
        rule_id=rule_id,
        guard=state.guard,
        deadline_fallback=state.deadline_fallback,
        left_to_platform=state.left_to_platform,
        trace=(note, *state.steps),
        policy_version=policy.version,
        decided_at=now,
    )
