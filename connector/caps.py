"""Blast-radius caps and the breaker: how much automatic approval may move, per shop.

The policy's ``[caps]`` bound automatic money-moving approvals (``approve_refund``,
``confirm_return_and_refund``) per rolling hour and day, in fen and in count, and the largest
single one. ``admit`` counts the shop's usage from the store's ledger and writes this approval
into it in one write transaction (SQLite's write lock, ``BEGIN IMMEDIATE``), so deciders in
several threads, processes or nodes on one database never together exceed a cap: each sees
every approval admitted before it. It runs just before the decision is planned and recorded;
a crash between the two leaves the approval counted without a decision, erring on the safe side.

An approval that would cross a cap goes to people instead (escalated, audited ``cap_crossed``,
a ``cap_crossed`` webhook once per shop per hour, and the ``refund_connector_cap_*`` metrics).
Deadline fallbacks (rule 11) are never held: they are counted apart as ``fallback``.

The breaker (``[breaker]``) watches the same ledger per refund reason: when a reason's automatic
approvals in the window exceed ``factor`` times its average per window over the baseline before,
it pauses automatic approval for that reason (``connector.pause``), audited ``breaker_tripped``,
with a webhook. Tests: tests/integration/test_caps_and_pause.py, tests/safety/test_caps.py.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from connector import audit_events
from connector.models import RefundCase
from connector.policy.decision import Action, DaemonNote, Decision
from connector.policy.engine import decide_for_person
from connector.policy.limits import Breaker, Caps
from connector.policy.model import Policy
from connector.store.api import CapEntryKind

if TYPE_CHECKING:
    from connector.store.api import CaseKey, Store

MONEY_MOVING = frozenset({Action.approve_refund, Action.confirm_return_and_refund})
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
CAP_CROSSED = "cap_crossed"
BREAKER_TRIPPED = "breaker_tripped"

_alerts = threading.local()
"""Alerts raised while deciding a case, sent by ``connector.safety.after_decision`` once the
decision is recorded (a webhook notice rides on the case's decision)."""


def raise_alert(event: str, details: dict[str, Any]) -> None:
    pending: list[tuple[str, dict[str, Any]]] = getattr(_alerts, "pending", [])
    pending.append((event, details))
    _alerts.pending = pending


def take_alerts() -> list[tuple[str, dict[str, Any]]]:
    pending: list[tuple[str, dict[str, Any]]] = getattr(_alerts, "pending", [])
    _alerts.pending = []
    return pending


def refund_of(decision: Decision, case: RefundCase) -> int:
    return decision.parameters.refund_amount or case.refund_amount


def crossed_cap(store: Store, caps: Caps, shop_id: str, amount: int, now: datetime) -> str | None:
    """The first cap this approval would cross, or None. Call inside a unit of work."""
    if caps.single is not None and amount > caps.single:
        return f"single: {amount} fen > {caps.single} fen"
    for name, span, total_cap, count_cap in (
        ("hour", HOUR, caps.hour_total, caps.hour_count),
        ("day", DAY, caps.day_total, caps.day_count),
    ):
        if total_cap is None and count_cap is None:
            continue
        count, total = store.cap_usage(shop_id, kind=CapEntryKind.counted, since=now - span)
        if count_cap is not None and count + 1 > count_cap:
            return f"{name}_count: {count} + 1 > {count_cap}"
        if total_cap is not None and total + amount > total_cap:
            return f"{name}_total: {total} + {amount} fen > {total_cap} fen"
    return None


def breaker_trips(
    store: Store, breaker: Breaker, shop_id: str, reason: str, now: datetime
) -> str | None:
    """Why this approval trips the breaker for ``reason``, or None. Inside a unit of work."""
    recent = (
        store.cap_entries_by_reason(
            shop_id, kind=CapEntryKind.counted, since=now - breaker.window, until=now + DAY
        ).get(reason, 0)
        + 1
    )
    if recent < breaker.min_cases:
        return None
    before = store.cap_entries_by_reason(
        shop_id,
        kind=CapEntryKind.counted,
        since=now - breaker.baseline,
        until=now - breaker.window,
    ).get(reason, 0)
    windows = (breaker.baseline - breaker.window) / breaker.window
    baseline = before / windows
    if recent <= breaker.factor * baseline:
        return None
    return (
        f"{recent} automatic approvals for {reason} in {breaker.window}, above"
        f" {breaker.factor:g} x the baseline of {baseline:.2f} per {breaker.window}"
    )


def to_people(
    case: RefundCase, policy: Policy, decision: Decision, text_en: str, text_zh: str
) -> Decision:
    """A person owns the case now, and the deadline guard treats it as any human case: at the
    fallback step it takes the platform's timeout outcome (a deadline fallback), so a cap or a
    pause never makes the connector miss a deadline (found by the demo with a cap: held cases
    were decided again at the guard's steps, held again, and left for the platform to act)."""
    note = DaemonNote(text_en=text_en, text_zh=text_zh)
    owned = decide_for_person(
        case, policy, decision.decided_at, rule_id=decision.rule_id, note=note
    )
    return owned.model_copy(update={"trace": (*decision.trace, *owned.trace)})


def admit(
    store: Store,
    policy: Policy,
    key: CaseKey,
    case: RefundCase,
    decision: Decision,
    now: datetime,
) -> Decision:
    """The decider's gate for money-moving automatic approvals (see the module docstring)."""
    if decision.action not in MONEY_MOVING:
        return decision
    caps, breaker = policy.caps, policy.breaker
    amount, reason, version = refund_of(decision, case), str(case.reason), case.version

    def record(kind: CapEntryKind, *, fen: int = amount, detail: str = "") -> bool:
        return store.add_cap_entry(
            key,
            decided_version=version,
            kind=kind,
            amount=fen,
            reason=reason,
            detail=detail,
            at=now,
        )

    if decision.deadline_fallback:
        record(CapEntryKind.fallback)
        return decision
    if not caps.any and breaker is None:
        record(CapEntryKind.counted)
        return decision
    with store.unit_of_work():
        if store.cap_entry_exists(key, decided_version=version, kind=CapEntryKind.counted):
            return decision  # this very version was admitted before (decided again)
        crossed = crossed_cap(store, caps, key[1], amount, now)
        tripped = None
        if crossed is None and breaker is not None:
            tripped = breaker_trips(store, breaker, key[1], reason, now)
        if crossed is None and tripped is None:
            record(CapEntryKind.counted)
            return decision
        why = crossed or f"breaker: {tripped}"
        if crossed is not None:
            people = to_people(
                case,
                policy,
                decision,
                f"automatic refund of {amount} fen would cross the shop's cap ({crossed}):"
                " a person decides",
                f"自动退款 {amount} 分将超过店铺上限（{crossed}）：转人工",
            )
        else:
            people = to_people(
                case,
                policy,
                decision,
                f"the breaker paused automatic approval for {reason}: {tripped}; a person decides",
                f"熔断已暂停原因 {reason} 的自动同意：{tripped}；转人工",
            )
        if people.deadline_fallback:  # the deadline comes first: counted apart, never held
            record(CapEntryKind.fallback, fen=refund_of(people, case), detail=why)
            return people
        first_this_hour = store.cap_usage(key[1], kind=CapEntryKind.held, since=now - HOUR)[0] == 0
        new = record(CapEntryKind.held, detail=why)
        if crossed is not None:
            if new:  # another worker deciding this same version audited it already
                audit_events.cap_crossed(
                    store, key=key, cap=crossed, amount=amount, rule_id=decision.rule_id
                )
            if new and first_this_hour:
                raise_alert(CAP_CROSSED, {"cap": crossed, "amount": amount})
            return people
        from connector.pause import trip_breaker

        trip_breaker(store, key[1], reason, str(tripped))
        raise_alert(BREAKER_TRIPPED, {"reason_code": reason, "why": tripped})
        return people
