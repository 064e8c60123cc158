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

from connector.effects import EffectKind, EffectStatus
from connector.errors import ConnectorError
from connector.messages import MessageTemplates
from connector.models import RefundCase
from connector.store import CaseKey, CaseRecord, CaseState, EffectSpec, Store

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
            params["proof_image_b64"] = base64.b64encode(evidence).decode("ascii")
            params["proof_image_sha256"] = hashlib.sha256(evidence).hexdigest()
            params["proof_image_bytes"] = len(evidence)
        return [EffectSpec(kind=EffectKind.refuse_refund, params=params)]
    return [
        EffectSpec(
            kind=EffectKind.message_buyer, params={"content": reason, "purpose": "ask_buyer"}
        )
    ]


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
) -> int:
    """Record a reviewer's decision and its effects in one transaction; returns the decision id.

    ``seen_version`` defaults to the version recorded when the reviewer claimed the case.
    """
    if not reason.strip():
        msg = "a person's decision needs a reason (--reason)"
        raise ReviewError(msg)
    templates = templates or MessageTemplates()
    with store.unit_of_work():
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
        busy = [e for e in store.open_effects(current.key) if e.status is not EffectStatus.pending]
        if busy:
            msg = f"case {current.case_id} has a write in flight; try again in a moment"
            raise ReviewError(msg)
        case = current.case
        money = action in (ReviewAction.approve_refund, ReviewAction.confirm_return_and_refund)
        chosen = case.refund_amount if amount is None else amount
        if money:
            already = store.refunded_on_order(
                case.platform, case.shop_id, case.order_id, exclude_case_id=case.case_id
            )
            if chosen <= 0 or chosen > case.paid_amount - already:
                msg = (
                    f"refund of {chosen} fen is not allowed: paid {case.paid_amount}, already "
                    f"refunded {already} on order {case.order_id}"
                )
                raise ReviewError(msg)
        effects = _effects_for(
            action,
            case,
            chosen,
            reason,
            None if evidence is None else _check_evidence(evidence),
            templates,
            reviewer,
        )
        store.supersede_open_effects(current.key, reason=f"decided by {reviewer.actor}")
        decision, _ = store.record_decision(
            current.key,
            decided_version=current.version,
            policy_version="human",
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
        store.append_audit(
            "human_action",
            actor=reviewer.actor,
            key=current.key,
            details={
                "action": action.value,
                "reason": reason,
                "os_user": reviewer.os_user,
                "via": reviewer.via,
                "decision_id": decision.id,
                "seen_version": seen,
            },
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
