"""The review desk: the cases the policy sent to a person, and a person's decision on one.

A reviewer's decision goes through the same path as the daemon's: a decision row with its effects
in the outbox and its audit entry, in one transaction, sent by the relay with the platform
version the reviewer saw (compare-and-set). If the case changed since the reviewer looked, the
decision is refused and the new state shown, never applied over it. Claims keep two reviewers
off one case; a claim expires on its own.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from connector import audit_events
from connector.effects import EffectKind, EffectStatus
from connector.errors import ConnectorError
from connector.formatting import yuan
from connector.messages import MessageTemplates
from connector.models import CaseStatus, CaseType, RefundCase
from connector.store import (
    ApprovalRecord,
    ApprovalStatus,
    CaseKey,
    CaseRecord,
    CaseState,
    EffectSpec,
    Store,
)

CLAIM_TTL = timedelta(minutes=15)
EVIDENCE_MAX_BYTES = 130_000
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


class ReviewError(ConnectorError):
    """A reviewer's request cannot be carried out as asked; the message says why."""


class CaseChangedError(ReviewError):
    """The case changed on the platform since the reviewer looked; ``record`` is the new state."""

    def __init__(self, record: CaseRecord, seen_version: str | None) -> None:
        self.record = record
        self.seen_version = seen_version
        case = record.case
        super().__init__(
            f"case {record.case_id} changed since you looked (version {seen_version} -> "
            f"{record.version}): now {case.status.value}, {case.type.value}/{case.reason.value},"
            f" asks {case.refund_amount} fen. Look again before deciding."
        )


class NotDecidableError(ReviewError):
    """The case is not one a person may decide now; ``code`` names why (the console shows it
    in the page's language and answers 409)."""

    def __init__(self, record: CaseRecord, code: str, message: str) -> None:
        self.record = record
        self.code = code
        super().__init__(message)


class PlatformLimitError(ReviewError):
    """The decision breaks a limit the platform enforces (caught before anything is sent);
    ``code`` names the limit for the console's translation."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class ReviewAction(StrEnum):
    approve_refund = "approve-refund"
    approve_return = "approve-return"
    confirm_return_and_refund = "confirm-return-and-refund"
    reject = "reject"
    ask_buyer = "ask-buyer"


@dataclass(frozen=True, slots=True)
class Reviewer:
    """Who acts: the name they give and the operating-system user running the command."""

    name: str
    os_user: str
    via: str = "cli"
    """Which tool recorded the decision (``cli`` or ``console``), kept in the audit details."""

    @property
    def actor(self) -> str:
        return f"human:{self.name}"

    @classmethod
    def current(cls, name: str) -> Reviewer:
        try:
            os_user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (containers)
            os_user = "unknown"
        return cls(name=name, os_user=os_user)


@dataclass(frozen=True, slots=True)
class QueueItem:
    record: CaseRecord
    reason: str
    seconds_left: float | None

    @property
    def key(self) -> CaseKey:
        return self.record.key


def _queued_reason(store: Store, record: CaseRecord) -> str:
    for effect in reversed(store.effects_of_case(record.key)):
        if effect.status is EffectStatus.failed and effect.decided_version == record.version:
            return f"the platform refused {effect.kind}: {effect.last_error or '?'}"[:200]
    decision = store.latest_decision(record.key)
    if decision is None:
        return "not decided yet"
    for step in decision.trace:
        if isinstance(step, dict) and step.get("kind") == "note":
            return str(step.get("text_en", ""))[:160]
        if isinstance(step, dict) and step.get("kind") == "quarantine":
            return "payload failed validation: " + "; ".join(step.get("problems", []))[:140]
    escalated = " (escalated)" if decision.params.get("escalated") else ""
    return f"rule {decision.rule_id}: {decision.action}{escalated}"


def review_queue(store: Store, now: datetime) -> list[QueueItem]:
    """Cases waiting for a person, most urgent first (no deadline last)."""
    items = []
    for record in store.cases_in_state(CaseState.queued_for_human, limit=100_000):
        left = None if record.deadline_at is None else (record.deadline_at - now).total_seconds()
        items.append(QueueItem(record, _queued_reason(store, record), left))
    return sorted(items, key=lambda i: (i.seconds_left is None, i.seconds_left or 0.0))


def find_case(store: Store, case_id: str) -> CaseRecord:
    found = store.find_cases(case_id)
    if not found:
        msg = f"no case {case_id!r} in this state directory"
        raise ReviewError(msg)
    if len(found) > 1:
        shops = ", ".join(f"{r.platform}/{r.shop_id}" for r in found)
        msg = f"case id {case_id!r} exists in several shops ({shops}); name the shop"
        raise ReviewError(msg)
    return found[0]


def claim(store: Store, record: CaseRecord, reviewer: Reviewer, now: datetime) -> None:
    """Take the case for this reviewer (recording the version they see); refuse if taken."""
    ok = store.claim_case(
        record.key, reviewer.name, until=now + CLAIM_TTL, seen_version=record.version
    )
    if not ok:
        holder = store.get_case(record.key) or record
        until = holder.claim_expires_at.isoformat() if holder.claim_expires_at else "?"
        msg = f"case {record.case_id} is being worked by {holder.claimed_by} (claim until {until})"
        raise ReviewError(msg)


DECIDABLE_STATES = frozenset({CaseState.queued_for_human})
"""States a person may decide from (an escalated case is queued for a person too)."""
SELLER_TURN = frozenset({CaseStatus.awaiting_seller, CaseStatus.awaiting_seller_receipt})
"""Platform statuses in which the platform still waits for the seller's answer."""
HUMAN_POLICY = "human"
MONEY_ACTIONS = frozenset({ReviewAction.approve_refund, ReviewAction.confirm_return_and_refund})
REASON_MIN_CHARS = 2
REASON_MAX_CHARS = 200


def _unsent_automatic_decision(store: Store, record: CaseRecord) -> bool:
    """True when the latest decision is the policy's and none of its effects was sent yet:
    a person may still override it (its effects are superseded)."""
    if record.state is not CaseState.decided:
        return False
    decision = store.latest_decision(record.key)
    if decision is None or decision.policy_version == HUMAN_POLICY:
        return False
    effects = [e for e in store.effects_of_case(record.key) if e.decision_id == decision.id]
    return bool(effects) and all(
        e.status in (EffectStatus.pending, EffectStatus.superseded, EffectStatus.cancelled)
        and e.attempts == 0
        for e in effects
    )


def check_decidable(store: Store, record: CaseRecord) -> bool:
    """Raise ``NotDecidableError`` unless a person may decide ``record`` now.

    Decidable: queued for a person (or escalated), the platform still awaiting the seller, and
    no effect of a later decision in flight; or an automatic decision whose effects were not
    sent yet (an override; returns True). Guarded by tests/console/test_desk_rules.py.
    """
    override = False
    if record.state not in DECIDABLE_STATES:
        override = _unsent_automatic_decision(store, record)
        if not override:
            msg = (
                f"case {record.case_id} is {record.state.value}, not waiting for a person: "
                "it cannot be decided here"
            )
            raise NotDecidableError(record, f"state_{record.state.value}", msg)
    if record.case.status not in SELLER_TURN:
        msg = (
            f"case {record.case_id} is {record.case.status.value} on the platform: the platform "
            "no longer waits for the seller"
        )
        raise NotDecidableError(record, f"status_{record.case.status.value}", msg)
    busy = [
        e
        for e in store.open_effects(record.key)
        if e.status is not EffectStatus.pending or e.attempts > 0
    ]
    if busy:
        msg = f"case {record.case_id} has a write in flight; look again in a moment"
        raise NotDecidableError(record, "in_flight", msg)
    return override


def refundable_fen(store: Store, case: RefundCase) -> int:
    """What may still be refunded on this case's order: paid less other cases' refunds."""
    already = store.refunded_on_order(
        case.platform, case.shop_id, case.order_id, exclude_case_id=case.case_id
    )
    return max(case.paid_amount - already, 0)


def suggested_amount(store: Store, case: RefundCase) -> int:
    """The amount a form starts with: what the buyer asks, never more than is refundable."""
    return min(case.refund_amount, refundable_fen(store, case))


def is_tmall(case: RefundCase) -> bool:
    return case.platform_fields.get("tmall") == "true"


ACTION_EFFECT = {
    ReviewAction.approve_refund: EffectKind.agree_refund,
    ReviewAction.approve_return: EffectKind.agree_return,
    ReviewAction.confirm_return_and_refund: EffectKind.confirm_return_and_refund,
    ReviewAction.reject: EffectKind.refuse_refund,
    ReviewAction.ask_buyer: EffectKind.message_buyer,
}


def offered_actions(
    case: RefundCase, capabilities: frozenset[str] | None = None
) -> list[ReviewAction]:
    """The actions this case's platform can take in its current status (others are not
    offered): a return is agreed before the goods come back, refunded after. With the
    adapter's ``capabilities``, an action whose write the platform lacks is dropped too."""
    actions = _by_status(case)
    if capabilities is None:
        return actions
    return [a for a in actions if ACTION_EFFECT[a].value in capabilities]


def _by_status(case: RefundCase) -> list[ReviewAction]:
    if case.status is CaseStatus.awaiting_seller_receipt:
        return [ReviewAction.confirm_return_and_refund, ReviewAction.reject,
                ReviewAction.ask_buyer]
    if case.status is not CaseStatus.awaiting_seller:
        return []
    actions = [ReviewAction.approve_refund]
    if case.type is CaseType.return_and_refund:
        actions.append(ReviewAction.approve_return)
    actions += [ReviewAction.reject, ReviewAction.ask_buyer]
    return actions


def image_required(case: RefundCase, action: ReviewAction) -> bool:
    """Tmall refusals need a proof image; Taobao's buyer message API needs an image."""
    if action is ReviewAction.reject:
        return is_tmall(case)
    if action is ReviewAction.ask_buyer:
        return case.platform == "taobao"
    return False


def check_platform_limits(
    case: RefundCase, action: ReviewAction, reason: str, image: bytes | None
) -> None:
    """What the platform would refuse, refused before anything is recorded or sent."""
    if action not in offered_actions(case):
        msg = f"{case.platform} cannot take {action.value} on a case that is {case.status.value}"
        raise PlatformLimitError("action_not_offered", msg)
    if action is ReviewAction.reject and not (
        REASON_MIN_CHARS <= len(reason.strip()) <= REASON_MAX_CHARS
    ):
        msg = (
            f"a refusal's reason must be {REASON_MIN_CHARS} to {REASON_MAX_CHARS} characters "
            f"(got {len(reason.strip())})"
        )
        raise PlatformLimitError("reason_length", msg)
    if image is None and image_required(case, action):
        code = "tmall_proof" if action is ReviewAction.reject else "message_image"
        msg = (
            "Tmall refusals need a proof image"
            if action is ReviewAction.reject
            else "a Taobao message to the buyer needs an image"
        )
        raise PlatformLimitError(code, msg)


def _check_evidence(data: bytes) -> bytes:
    if len(data) > EVIDENCE_MAX_BYTES:
        msg = f"evidence image is {len(data)} bytes; the platform takes {EVIDENCE_MAX_BYTES} max"
        raise ReviewError(msg)
    if not data.startswith(_IMAGE_MAGIC):
        msg = "evidence must be a PNG, JPEG or GIF image"
        raise ReviewError(msg)
    return data


def _effects_for(
    action: ReviewAction,
    case: RefundCase,
    amount: int,
    reason: str,
    evidence: bytes | None,
    templates: MessageTemplates,
    reviewer: Reviewer,
) -> list[EffectSpec]:
    memo = EffectSpec(
        kind=EffectKind.write_order_memo,
        params={"memo": templates.refund_memo(case, amount, decided_by=reviewer.name)},
    )
    if action is ReviewAction.approve_refund:
        return [EffectSpec(kind=EffectKind.agree_refund, params={"amount": amount}), memo]
    if action is ReviewAction.confirm_return_and_refund:
        return [
            EffectSpec(kind=EffectKind.confirm_return_and_refund, params={"amount": amount}),
            memo,
        ]
    if action is ReviewAction.approve_return:
        payer = "seller" if "seller" in reason.lower() or "卖家" in reason else "buyer"
        return [EffectSpec(kind=EffectKind.agree_return, params={"return_shipping_paid_by": payer})]
    if action is ReviewAction.reject:
        params: dict[str, Any] = {"message": reason[:200], "evidence_kinds": ["reviewer_upload"]}
        if evidence is not None:
            params["proof_image"] = base64.b64encode(evidence).decode("ascii")
            params["proof_image_sha256"] = hashlib.sha256(evidence).hexdigest()
            params["proof_image_bytes"] = len(evidence)
        return [EffectSpec(kind=EffectKind.refuse_refund, params=params)]
    message: dict[str, Any] = {"content": reason, "purpose": "ask_buyer"}
    if evidence is not None:
        message["image"] = base64.b64encode(evidence).decode("ascii")
    return [EffectSpec(kind=EffectKind.message_buyer, params=message)]


@dataclass(frozen=True, slots=True)
class PreparedDecision:
    """A person's decision checked against the case as stored now (nothing recorded yet)."""

    record: CaseRecord
    action: ReviewAction
    amount: int
    """Fen; the refund for a money action, otherwise the case's asked amount (unused)."""
    seen_version: str | None
    override: bool

    @property
    def moves_money(self) -> bool:
        return self.action in MONEY_ACTIONS


def prepare_decision(
    store: Store,
    record: CaseRecord,
    action: ReviewAction,
    *,
    reviewer: Reviewer,
    reason: str,
    now: datetime,
    amount: int | None = None,
    evidence: bytes | None = None,
    seen_version: str | None = None,
) -> PreparedDecision:
    """Every check ``decide_by_person`` makes, without recording: the console shows the
    confirmation (with the amount in words) only for a decision that would be accepted."""
    if not reason.strip():
        msg = "a person's decision needs a reason (--reason)"
        raise ReviewError(msg)
    current = store.get_case(record.key)
    if current is None:
        msg = f"case {record.case_id} is gone from the store"
        raise ReviewError(msg)
    if current.claimed_by not in (None, reviewer.name) and (
        current.claim_expires_at is not None and current.claim_expires_at > now
    ):
        msg = f"case {current.case_id} is claimed by {current.claimed_by}"
        raise ReviewError(msg)
    seen = seen_version if seen_version is not None else current.claimed_version
    if seen is None:
        seen = record.version
    if seen != current.version:
        raise CaseChangedError(current, seen)
    override = check_decidable(store, current)
    case = current.case
    check_platform_limits(case, action, reason, evidence)
    chosen = case.refund_amount if amount is None else amount
    if action in MONEY_ACTIONS:
        refundable = refundable_fen(store, case)
        if chosen <= 0 or chosen > refundable:
            msg = (
                f"a refund of {yuan(chosen)} yuan is not allowed: at most "
                f"{yuan(refundable)} yuan is refundable on order {case.order_id}"
            )
            raise PlatformLimitError("above_refundable", msg)
    if evidence is not None:
        _check_evidence(evidence)
    return PreparedDecision(current, action, chosen, seen, override)


def decide_by_person(
    store: Store,
    record: CaseRecord,
    action: ReviewAction,
    *,
    reviewer: Reviewer,
    reason: str,
    now: datetime,
    amount: int | None = None,
    evidence: bytes | None = None,
    seen_version: str | None = None,
    templates: MessageTemplates | None = None,
    approval_id: int | None = None,
) -> int:
    """Record a reviewer's decision and its effects in one transaction; returns the decision id.

    ``approval_id``: the second approval this decision carries out (it is not withdrawn).

    ``seen_version`` defaults to the version recorded when the reviewer claimed the case.
    """
    templates = templates or MessageTemplates()
    with store.unit_of_work():
        prepared = prepare_decision(
            store, record, action, reviewer=reviewer, reason=reason, now=now, amount=amount,
            evidence=evidence, seen_version=seen_version,
        )
        current, override, seen = prepared.record, prepared.override, prepared.seen_version
        case = current.case
        money = prepared.moves_money
        chosen = prepared.amount
        effects = _effects_for(
            action,
            case,
            chosen,
            reason,
            None if evidence is None else _check_evidence(evidence),
            templates,
            reviewer,
        )
        pending = store.pending_approval(current.key)
        if pending is not None and pending.id != approval_id:
            store.close_approval(pending.id, ApprovalStatus.withdrawn, actor=reviewer.actor,
                                 details={"why": "decided otherwise", "via": reviewer.via})
        superseded = store.supersede_open_effects(
            current.key, reason=f"decided by {reviewer.actor}"
        )
        if override:
            audit_events.automatic_decision_overridden(
                store,
                actor=reviewer.actor,
                key=current.key,
                superseded_effects=[e.id for e in superseded],
                via=reviewer.via,
            )
        decision, _ = store.record_decision(
            current.key,
            decided_version=current.version,
            policy_version=HUMAN_POLICY,
            rule_id="reviewer",
            action=action.value.replace("-", "_"),
            params={
                "reason": reason,
                "refund_amount": chosen if money else None,
                "os_user": reviewer.os_user,
                "evidence_sha256": hashlib.sha256(evidence).hexdigest() if evidence else None,
            },
            trace=[f"decided by {reviewer.name} (os user {reviewer.os_user}): {reason}"],
            actor=reviewer.actor,
            effects=effects,
            first_attempt_at=now,
        )
        audit_events.human_action(
            store,
            actor=reviewer.actor,
            key=current.key,
            action=action.value,
            reason=reason,
            os_user=reviewer.os_user,
            via=reviewer.via,
            decision_id=decision.id,
            seen_version=seen,
        )
        store.set_case_state(
            current.key,
            CaseState.decided if effects else CaseState.waiting,
            actor=reviewer.actor,
            reason=f"{action.value} by {reviewer.name}",
        )
        store.release_case(current.key, reviewer.name)
        return decision.id


def complete_task_with_code(store: Store, task_id: int, code: str, *, reviewer: Reviewer) -> int:
    """A person entered the platform's SMS code: the original write is sent again with it."""
    if not code.strip().isdigit():
        msg = "the verification code is digits only"
        raise ReviewError(msg)
    with store.unit_of_work():
        task = next((t for t in store.open_tasks() if t.id == task_id), None)
        if task is None:
            msg = f"no open task {task_id}"
            raise ReviewError(msg)
        effect_id = int(task.details.get("effect_id", 0))
        store.retry_effect(
            effect_id,
            actor=reviewer.actor,
            reason="SMS code entered",
            details={"os_user": reviewer.os_user, "via": reviewer.via, "task_id": task_id},
            extra_params={"verify_code": code.strip()},
        )
        store.close_task(task_id, actor=reviewer.actor)
        store.set_case_state(
            (task.platform, task.shop_id, task.case_id),
            CaseState.decided,
            actor=reviewer.actor,
            reason="SMS code entered; the original write goes again",
        )
        return effect_id


# second approvals (maker-checker) -----------------------------------------------------------
def needs_second_approval(limit_fen: int | None, prepared: PreparedDecision) -> bool:
    """A refund above the deciding role's limit needs a second person (no limit: never)."""
    return prepared.moves_money and limit_fen is not None and prepared.amount > limit_fen


def request_second_approval(
    store: Store, prepared: PreparedDecision, *, reviewer: Reviewer, reason: str
) -> ApprovalRecord:
    """Park a checked refund until a second person approves it (audited)."""
    return store.request_approval(
        prepared.record.key,
        action=prepared.action.value,
        amount_fen=prepared.amount,
        reason=reason,
        seen_version=prepared.seen_version,
        actor=reviewer.actor,
    )


def approve_second(
    store: Store,
    approval: ApprovalRecord,
    *,
    approver: Reviewer,
    approver_limit: int | None,
    now: datetime,
    templates: MessageTemplates | None = None,
) -> int:
    """The second person approves: the requested refund is decided now, both names audited.

    Refused for the requester themself, above the approver's own limit, or once the approval
    is no longer pending (declined, withdrawn, or overtaken by the deadline guard)."""
    if approval.requested_by == approver.actor:
        msg = "the second approval must come from another person"
        raise ReviewError(msg)
    if approver_limit is not None and approval.amount_fen > approver_limit:
        msg = (
            f"{yuan(approval.amount_fen)} yuan is above your own approval limit "
            f"({yuan(approver_limit)} yuan)"
        )
        raise ReviewError(msg)
    record = store.get_case(approval.key)
    if record is None:
        msg = f"case {approval.case_id} is gone from the store"
        raise ReviewError(msg)
    with store.unit_of_work():
        current = store.pending_approval(approval.key)
        if current is None or current.id != approval.id:
            raise NotDecidableError(record, "approval_closed",
                                    f"approval {approval.id} is no longer pending")
        decision_id = decide_by_person(
            store, record, ReviewAction(approval.action), reviewer=approver,
            reason=f"{approval.reason}（{approval.requested_by} 申请，{approver.actor} 复核批准）",
            now=now, amount=approval.amount_fen, seen_version=approval.seen_version,
            templates=templates, approval_id=approval.id,
        )
        store.close_approval(approval.id, ApprovalStatus.approved, actor=approver.actor,
                             decision_id=decision_id, details={"via": approver.via})
        return decision_id


def decline_second(store: Store, approval: ApprovalRecord, *, approver: Reviewer) -> None:
    store.close_approval(approval.id, ApprovalStatus.declined, actor=approver.actor,
                         details={"via": approver.via})


def overtake_pending_approvals(store: Store, key: CaseKey) -> int:
    """The deadline sweeper calls this after it decided a case: if the policy's guard took an
    action (not "for a person" again), a pending second approval is closed as overtaken,
    audited. Returns how many were closed. Guarded by test_desk_rules."""
    decision = store.latest_decision(key)
    if decision is None or decision.policy_version == HUMAN_POLICY or decision.action == "human":
        return 0
    closed = 0
    with store.unit_of_work():
        pending = store.pending_approval(key)
        if pending is not None:
            store.close_approval(
                pending.id, ApprovalStatus.overtaken, actor="policy",
                decision_id=decision.id,
                details={"rule_id": decision.rule_id, "action": decision.action},
            )
            closed = 1
    return closed
