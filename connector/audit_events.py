"""The audit event catalogue: one model per event type for its details, one function that writes it.

Every entry of the log is written through a function here (``audit_events.escalated(store, …)``),
which validates its details against the event's model (``extra="forbid"``: a new detail is added
to the model first, so the catalogue never falls behind the log). The table in
docs/operating.md ("Audit events") is generated from these models by ``catalogue_markdown`` and
kept in step by tests/unit/test_audit_events.py.

Converting a call site is mechanical::

    store.append_audit("escalated", actor="policy", key=k, details={"rule_id": r, ...})
    audit_events.escalated(store, actor="policy", key=k, rule_id=r, ...)

Amounts are integer fen, times are stored UTC ISO text (a ``datetime`` is accepted and stored as
ISO text). Nothing here may name buyer personal data: the store refuses such keys anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from connector.audit import AuditEntry
    from connector.store.api import CaseKey, Store

Time = datetime | str
"""A UTC time: a ``datetime``, or the store's ISO text for one."""


class EventDetails(BaseModel):
    """The details of one event type. ``event`` is its name in the log; ``when`` says when it is
    written and by whom (the docs table's words)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    event: ClassVar[str]
    when: ClassVar[str]
    drop_none: ClassVar[bool] = False
    """Leave out details that are None (the effect events always have)."""

    def as_details(self) -> dict[str, Any]:
        """What the caller gave, validated: a detail left out stays out of the entry."""
        return self.model_dump(mode="python", exclude_unset=True, exclude_none=self.drop_none)


# cases ------------------------------------------------------------------------------------------
class CaseSeen(EventDetails):
    event = "case_seen"
    when = "a platform case is stored for the first time (actor platform)"
    version: str | None = Field(description="the platform's version of the case")
    status: str = Field(description="canonical status")
    type: str
    reason: str
    order_status: str
    refund_amount: int = Field(description="fen the buyer asks for")
    paid_amount: int = Field(description="fen paid for the order line")
    deadline_at: Time | None = Field(description="the platform's response deadline")
    state: str = Field(description="the connector's state (new, or done if already closed)")


class CaseChanged(EventDetails):
    event = "case_changed"
    when = "the platform's view of a stored case changed (a new version)"
    version: str | None
    previous_version: str | None
    facts_changed: bool = Field(description="false: only the version moved")
    changed_fields: list[str] | None = None
    status: str | None = None
    previous_status: str | None = None
    deadline_at: Time | None = None
    state: str | None = None


class CaseStateChanged(EventDetails):
    event = "case_state"
    when = "the connector's state of a case changed (new, decided, waiting, queued, done ...)"
    state: str
    previous_state: str
    reason: str = ""
    next_review_at: Time | None = None
    guard_at: Time | None = None


class Quarantined(EventDetails):
    event = "quarantined"
    when = "a listed item could not be read as a case: kept aside, never dropped"
    quarantine_id: int
    problems: list[dict[str, Any]] = Field(description="[{field, reason}]")


class QuarantineResolved(EventDetails):
    event = "quarantine_resolved"
    when = "a person marked a quarantined item resolved"
    quarantine_id: int


# decisions --------------------------------------------------------------------------------------
class Decided(EventDetails):
    event = "decided"
    when = "the policy (actor policy) or a person decided a case; effects are queued with it"
    decision_id: int
    rule_id: str
    action: str
    policy_version: str
    decided_version: str | None = Field(description="the case version the decision was made on")
    params: dict[str, Any] = Field(description="the decision's parameters (amounts in fen)")
    trace: list[Any] = Field(description="the policy's steps, each with its own words")
    effects: list[str] = Field(description="kinds of the effects queued, in order")


class Escalated(EventDetails):
    event = "escalated"
    when = "a case was put in front of a person now (deadline guard or a refusal)"
    deadline_at: Time | None = None
    rule_id: str | None = None
    guard: str | None = Field(default=None, description="the guard step, if it escalated")


class DeadlineFallback(EventDetails):
    event = "deadline_fallback"
    when = "the deadline guard took the rule's fallback because no one decided in time"
    action: str
    rule_id: str | None = None


class DeadlineAtRisk(EventDetails):
    event = "deadline_at_risk"
    when = "a deadline is near and effects are still open: the ops webhook is told"
    deadline_at: Time | None = None
    open_effects: list[str] = Field(default_factory=list)


class HumanAction(EventDetails):
    event = "human_action"
    when = "a reviewer decided a queued case (CLI or console)"
    action: str
    reason: str
    os_user: str
    via: str
    decision_id: int
    seen_version: str | None = None


# effects ----------------------------------------------------------------------------------------
class _Effect(EventDetails):
    drop_none = True
    effect_id: int
    kind: str = Field(description="the effect kind, e.g. agree_refund")
    attempt: int = Field(description="attempts so far")
    decided_version: str | None = None
    outcome: str | None = None
    platform_code: str | None = None
    latency_ms: float | None = None
    error: str | None = None
    detail: str | None = None
    next_attempt_at: Time | None = None
    reason: str | None = None
    previous_status: str | None = None
    os_user: str | None = None
    via: str | None = None
    task_id: int | None = Field(default=None, description="the person's task that sent it again")
    params_added: list[str] | None = Field(
        default=None, description="parameters added for the new try (e.g. verify_code)"
    )


class EffectAttempt(_Effect):
    event = "effect_attempt"
    when = "an attempt ended without a final answer (outcome unknown or retry)"


class EffectDone(_Effect):
    event = "effect_done"
    when = "the platform (or warehouse) applied the effect"


class EffectFailed(_Effect):
    event = "effect_failed"
    when = "the effect failed for good: a person must act"


class EffectSuperseded(_Effect):
    event = "effect_superseded"
    when = "the case moved on before the effect was sent; it will not be"
    ended_by_version: str | None = Field(
        default=None, description="the platform version that ended the seller's part"
    )
    ended_by_status: str | None = Field(
        default=None, description="that version's status (closed, refunded, in_dispute)"
    )


class EffectCancelled(_Effect):
    event = "effect_cancelled"
    when = "a person cancelled the effect (effects cancel)"


class EffectRequeued(_Effect):
    event = "effect_requeued"
    when = "the effect goes again: retried by a person, or decided again at the same version"


# people's work ----------------------------------------------------------------------------------
class TaskOpened(EventDetails):
    event = "task_opened"
    when = "work only a person can do was opened (e.g. an SMS code)"
    task_id: int
    kind: str = Field(description="the task's kind; for an SMS task, the effect's kind")
    deadline_at: Time | None = None
    effect_id: int | None = None
    why: str | None = None


class TaskClosed(EventDetails):
    event = "task_closed"
    when = "a task was done or dropped"
    task_id: int
    kind: str
    status: str


class BuyerFlagged(EventDetails):
    event = "buyer_flagged"
    when = "a person flagged a buyer (by the platform's anonymous buyer id)"
    buyer_id: str
    reason: str


class BuyerUnflagged(EventDetails):
    event = "buyer_unflagged"
    when = "a person removed a buyer's flag"
    buyer_id: str


class CarrierClaimOpened(EventDetails):
    event = "carrier_claim_opened"
    when = "a claim against the carrier was opened for a lost parcel"
    claim_id: int
    order_id: str
    sku: str | None = None
    carrier: str | None = None
    waybill: str | None = None
    item_price: int = Field(description="fen")
    claim_amount: int = Field(description="fen")


class CarrierClaimsExported(EventDetails):
    event = "carrier_claims_exported"
    when = "claims were exported for the desk and marked (claims export)"
    claim_ids: list[int]
    count: int
    os_user: str | None = None
    format: str | None = None
    output: str | None = None


class BuyerContactRevealed(EventDetails):
    event = "buyer_contact_revealed"
    when = "a buyer's contact was read live from the platform and shown to one person"
    os_user: str
    via: str
    shown: list[str] = Field(description="which fields were shown (never their values)")


# the console ------------------------------------------------------------------------------------
class ConsoleUserAdded(EventDetails):
    event = "console_user_added"
    when = "a console account was created (users add, the demo, dev)"
    account: str
    role: str
    via: str | None = None


class ConsoleLogin(EventDetails):
    event = "console_login"
    when = "someone signed in to the console"
    client_ip: str | None = None
    via: str = "console"


class ConsoleLogout(EventDetails):
    event = "console_logout"
    when = "someone signed out of the console"
    via: str = "console"


class CaseClaimed(EventDetails):
    event = "case_claimed"
    when = "a reviewer took a case in the console"
    seen_version: str | None = None
    via: str = "console"


class ContactRevealed(EventDetails):
    event = "contact_revealed"
    when = "the console showed a buyer's contact to a reviewer"
    via: str = "console"


class ReportExported(EventDetails):
    event = "report_exported"
    when = "a report was downloaded from the console"
    report: str
    first_day: str
    last_day: str
    rows: int
    via: str = "console"


class ConsoleLoginFailed(EventDetails):
    event = "console_login_failed"
    when = "a console sign-in failed or was throttled (actor system; never the password)"
    account: str = Field(description="the account name typed (first 64 characters)")
    client_ip: str
    why: str = Field(description="wrong_account_or_password, throttled, ...")
    via: str = "console"
    retry_after_s: float | None = Field(default=None, description="seconds until it may retry")


class ConsoleSessionEnded(EventDetails):
    event = "console_session_ended"
    when = "an admin ended one console session (admin users page)"
    account: str
    ended_id: str = Field(description="the first 12 characters of the session's hash")
    via: str | None = None


class _ConsoleAccountChange(EventDetails):
    account: str
    role_before: str | None = None
    role_after: str | None = None
    disabled: bool | None = None
    sessions_ended: int | None = Field(default=None, description="how many sessions ended")
    via: str | None = None


class ConsoleUserDisabled(_ConsoleAccountChange):
    event = "console_user_disabled"
    when = "a console account was disabled; its sessions end at once (users disable, console)"


class ConsoleUserEnabled(_ConsoleAccountChange):
    event = "console_user_enabled"
    when = "a disabled console account was enabled again"


class ConsolePasswordReset(_ConsoleAccountChange):
    event = "console_password_reset"
    when = "a console account's password was reset; its sessions end"


class ConsoleRoleChanged(_ConsoleAccountChange):
    event = "console_role_changed"
    when = "a console account's role changed (effective on its next request)"


class ConsoleSessionsEnded(_ConsoleAccountChange):
    event = "console_sessions_ended"
    when = "a console account was signed out everywhere"


# the reviewer's desk ----------------------------------------------------------------------------
class CaseAssigned(EventDetails):
    event = "case_assigned"
    when = "a case was assigned to a reviewer (or unassigned) in the console"
    assignee: str | None = Field(description="the console account, or null: unassigned")
    via: str = "console"


class CaseNoteAdded(EventDetails):
    event = "case_note_added"
    when = "a reviewer added a note to a case (the note's text stays in case_notes)"
    note_id: int
    chars: int = Field(description="the note's length after masking")


class AutomaticDecisionOverridden(EventDetails):
    event = "automatic_decision_overridden"
    when = "a person decided a case the policy had decided; its open effects were superseded"
    superseded_effects: list[int] = Field(description="ids of the effects superseded")
    via: str


class ApprovalRequested(EventDetails):
    event = "approval_requested"
    when = "a reviewer's decision above the approval limit waits for a second person"
    approval_id: int
    action: str
    amount_fen: int
    seen_version: str | None


class _ApprovalClosed(EventDetails):
    approval_id: int
    requested_by: str = Field(description="the actor who asked for the approval")
    amount_fen: int
    decision_id: int | None = Field(description="the decision that closed it, if any")
    via: str | None = None


class ApprovalApproved(_ApprovalClosed):
    event = "approval_approved"
    when = "a second person approved a pending approval: the case is decided"


class ApprovalDeclined(_ApprovalClosed):
    event = "approval_declined"
    when = "a second person declined a pending approval"


class ApprovalWithdrawn(_ApprovalClosed):
    event = "approval_withdrawn"
    when = "a person decided the case otherwise while its approval was pending"
    why: str | None = None


class ApprovalOvertaken(_ApprovalClosed):
    event = "approval_overtaken"
    when = "the deadline guard decided the case while its approval was pending (actor policy)"
    rule_id: str | None = None
    action: str | None = None


# policy history, shadow, caps, pause ------------------------------------------------------------
class _PolicyInstall(EventDetails):
    install_id: int
    version: str | None = Field(description="the policy version (hash), null: none runs")
    policy_name: str | None
    role: str = Field(description="live or shadow")
    shop_id: str | None = Field(description="the shop, or null: every shop")
    note: str | None


class PolicyInstalled(_PolicyInstall):
    event = "policy_installed"
    when = "a policy was made live for a shop or every shop (policy install)"
    rules: int = Field(description="how many rules the policy has")


class PolicyPromoted(_PolicyInstall):
    event = "policy_promoted"
    when = "the shadow policy was made live for its shop (policy shadow promote)"
    rules: int


class ShadowStarted(_PolicyInstall):
    event = "shadow_started"
    when = "a candidate policy started deciding beside the live one, without effects"


class ShadowStopped(_PolicyInstall):
    event = "shadow_stopped"
    when = "the shadow policy of a shop stopped (stopped, or promoted)"
    promoted: str | None = Field(default=None, description="the version promoted, if it was")


class ShadowDecided(EventDetails):
    event = "shadow_decided"
    when = "the shadow policy decided a case beside the live decision (actor policy)"
    shadow_decision_id: int
    shadow_version: str
    rule_id: str
    action: str
    refund_amount: int = Field(description="fen the shadow would refund automatically")
    live_version: str
    live_rule_id: str
    live_action: str
    agrees: bool = Field(description="the shadow's action is the live one's")


class CapCrossed(EventDetails):
    event = "cap_crossed"
    when = "an automatic approval would cross a refund cap: it goes to people instead"
    cap: str = Field(description="the cap crossed, in words")
    amount: int = Field(description="fen")
    rule_id: str | None


class _Pause(EventDetails):
    pause_id: int
    shop_id: str | None = Field(description="the shop, or null: every shop")
    reason_code: str | None
    hold_fallbacks: bool
    why: str


class Paused(_Pause):
    event = "paused"
    when = "a person paused automatic pushes (pause, console safety page)"


class BreakerTripped(_Pause):
    event = "breaker_tripped"
    when = "a reason code's circuit breaker paused its automatic pushes (actor system)"


class Resumed(EventDetails):
    event = "resumed"
    when = "a person ended the open pauses of one scope; held writes become due at once"
    pause_ids: list[int]
    shop_id: str | None
    reason_code: str | None
    why: str | None


CATALOGUE: dict[str, type[EventDetails]] = {
    model.event: model
    for model in (
        CaseSeen,
        CaseChanged,
        CaseStateChanged,
        Quarantined,
        QuarantineResolved,
        Decided,
        Escalated,
        DeadlineFallback,
        DeadlineAtRisk,
        HumanAction,
        EffectAttempt,
        EffectDone,
        EffectFailed,
        EffectSuperseded,
        EffectCancelled,
        EffectRequeued,
        TaskOpened,
        TaskClosed,
        BuyerFlagged,
        BuyerUnflagged,
        CarrierClaimOpened,
        CarrierClaimsExported,
        BuyerContactRevealed,
        ConsoleUserAdded,
        ConsoleLogin,
        ConsoleLogout,
        CaseClaimed,
        ContactRevealed,
        ReportExported,
        ConsoleLoginFailed,
        ConsoleSessionEnded,
        ConsoleUserDisabled,
        ConsoleUserEnabled,
        ConsolePasswordReset,
        ConsoleRoleChanged,
        ConsoleSessionsEnded,
        CaseAssigned,
        CaseNoteAdded,
        AutomaticDecisionOverridden,
        ApprovalRequested,
        ApprovalApproved,
        ApprovalDeclined,
        ApprovalWithdrawn,
        ApprovalOvertaken,
        PolicyInstalled,
        PolicyPromoted,
        ShadowStarted,
        ShadowStopped,
        ShadowDecided,
        CapCrossed,
        Paused,
        BreakerTripped,
        Resumed,
    )
}


def write(
    store: Store,
    details: EventDetails,
    *,
    actor: str,
    key: CaseKey | None = None,
    platform: str | None = None,
    shop_id: str | None = None,
) -> AuditEntry:
    """Chain one entry onto the log (inside the caller's unit of work, as the store requires)."""
    return store.append_audit(
        details.event,
        actor=actor,
        key=key,
        platform=platform,
        shop_id=shop_id,
        details=details.as_details(),
    )


# one function per event -------------------------------------------------------------------------
def case_seen(store: Store, *, key: CaseKey, actor: str = "platform", **d: Any) -> AuditEntry:
    return write(store, CaseSeen(**d), actor=actor, key=key)


def case_changed(store: Store, *, key: CaseKey, actor: str = "platform", **d: Any) -> AuditEntry:
    return write(store, CaseChanged(**d), actor=actor, key=key)


def case_state(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, CaseStateChanged(**d), actor=actor, key=key)


def quarantined(
    store: Store,
    *,
    key: CaseKey | None,
    platform: str | None,
    shop_id: str | None,
    actor: str = "system",
    **d: Any,
) -> AuditEntry:
    return write(store, Quarantined(**d), actor=actor, key=key, platform=platform, shop_id=shop_id)


def quarantine_resolved(
    store: Store,
    *,
    key: CaseKey | None,
    platform: str | None,
    shop_id: str | None,
    actor: str,
    **d: Any,
) -> AuditEntry:
    details = QuarantineResolved(**d)
    return write(store, details, actor=actor, key=key, platform=platform, shop_id=shop_id)


def decided(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, Decided(**d), actor=actor, key=key)


def escalated(store: Store, *, key: CaseKey, actor: str = "policy", **d: Any) -> AuditEntry:
    return write(store, Escalated(**d), actor=actor, key=key)


def deadline_fallback(store: Store, *, key: CaseKey, actor: str = "policy", **d: Any) -> AuditEntry:
    return write(store, DeadlineFallback(**d), actor=actor, key=key)


def deadline_at_risk(store: Store, *, key: CaseKey, actor: str = "system", **d: Any) -> AuditEntry:
    return write(store, DeadlineAtRisk(**d), actor=actor, key=key)


def human_action(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, HumanAction(**d), actor=actor, key=key)


def effect_attempt(store: Store, *, key: CaseKey, actor: str = "system", **d: Any) -> AuditEntry:
    return write(store, EffectAttempt(**d), actor=actor, key=key)


def effect_done(store: Store, *, key: CaseKey, actor: str = "system", **d: Any) -> AuditEntry:
    return write(store, EffectDone(**d), actor=actor, key=key)


def effect_failed(store: Store, *, key: CaseKey, actor: str = "system", **d: Any) -> AuditEntry:
    return write(store, EffectFailed(**d), actor=actor, key=key)


def effect_superseded(store: Store, *, key: CaseKey, actor: str = "system", **d: Any) -> AuditEntry:
    return write(store, EffectSuperseded(**d), actor=actor, key=key)


def effect_cancelled(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, EffectCancelled(**d), actor=actor, key=key)


def effect_requeued(store: Store, *, key: CaseKey, actor: str = "system", **d: Any) -> AuditEntry:
    return write(store, EffectRequeued(**d), actor=actor, key=key)


def task_opened(store: Store, *, key: CaseKey, actor: str = "system", **d: Any) -> AuditEntry:
    return write(store, TaskOpened(**d), actor=actor, key=key)


def task_closed(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, TaskClosed(**d), actor=actor, key=key)


def buyer_flagged(store: Store, *, platform: str, actor: str, **d: Any) -> AuditEntry:
    return write(store, BuyerFlagged(**d), actor=actor, platform=platform)


def buyer_unflagged(store: Store, *, platform: str, actor: str, **d: Any) -> AuditEntry:
    return write(store, BuyerUnflagged(**d), actor=actor, platform=platform)


def carrier_claim_opened(
    store: Store, *, key: CaseKey, actor: str = "system", **d: Any
) -> AuditEntry:
    return write(store, CarrierClaimOpened(**d), actor=actor, key=key)


def carrier_claims_exported(store: Store, *, actor: str, **d: Any) -> AuditEntry:
    return write(store, CarrierClaimsExported(**d), actor=actor)


def buyer_contact_revealed(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, BuyerContactRevealed(**d), actor=actor, key=key)


def console_user_added(store: Store, *, actor: str, **d: Any) -> AuditEntry:
    return write(store, ConsoleUserAdded(**d), actor=actor)


def console_login(store: Store, *, actor: str, **d: Any) -> AuditEntry:
    return write(store, ConsoleLogin(**d), actor=actor)


def console_logout(store: Store, *, actor: str, **d: Any) -> AuditEntry:
    return write(store, ConsoleLogout(**d), actor=actor)


def case_claimed(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, CaseClaimed(**d), actor=actor, key=key)


def contact_revealed(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, ContactRevealed(**d), actor=actor, key=key)


def report_exported(store: Store, *, actor: str, **d: Any) -> AuditEntry:
    return write(store, ReportExported(**d), actor=actor)


def console_login_failed(store: Store, *, actor: str = "system", **d: Any) -> AuditEntry:
    return write(store, ConsoleLoginFailed(**d), actor=actor)


def console_session_ended(store: Store, *, actor: str, **d: Any) -> AuditEntry:
    return write(store, ConsoleSessionEnded(**d), actor=actor)


def console_user_disabled(store: Store, *, actor: str, **d: Any) -> AuditEntry:
    return write(store, ConsoleUserDisabled(**d), actor=actor)


def console_user_enabled(store: Store, *, actor: str, **d: Any) -> AuditEntry:
    return write(store, ConsoleUserEnabled(**d), actor=actor)


def console_password_reset(store: Store, *, actor: str, **d: Any) -> AuditEntry:
    return write(store, ConsolePasswordReset(**d), actor=actor)


def console_role_changed(store: Store, *, actor: str, **d: Any) -> AuditEntry:
    return write(store, ConsoleRoleChanged(**d), actor=actor)


def console_sessions_ended(store: Store, *, actor: str, **d: Any) -> AuditEntry:
    return write(store, ConsoleSessionsEnded(**d), actor=actor)


def case_assigned(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, CaseAssigned(**d), actor=actor, key=key)


def case_note_added(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, CaseNoteAdded(**d), actor=actor, key=key)


def automatic_decision_overridden(
    store: Store, *, key: CaseKey, actor: str, **d: Any
) -> AuditEntry:
    return write(store, AutomaticDecisionOverridden(**d), actor=actor, key=key)


def approval_requested(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, ApprovalRequested(**d), actor=actor, key=key)


def approval_approved(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, ApprovalApproved(**d), actor=actor, key=key)


def approval_declined(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, ApprovalDeclined(**d), actor=actor, key=key)


def approval_withdrawn(store: Store, *, key: CaseKey, actor: str, **d: Any) -> AuditEntry:
    return write(store, ApprovalWithdrawn(**d), actor=actor, key=key)


def approval_overtaken(
    store: Store, *, key: CaseKey, actor: str = "policy", **d: Any
) -> AuditEntry:
    return write(store, ApprovalOvertaken(**d), actor=actor, key=key)


def policy_installed(store: Store, *, shop_id: str | None, actor: str, **d: Any) -> AuditEntry:
    return write(store, PolicyInstalled(shop_id=shop_id, **d), actor=actor, shop_id=shop_id)


def policy_promoted(store: Store, *, shop_id: str | None, actor: str, **d: Any) -> AuditEntry:
    return write(store, PolicyPromoted(shop_id=shop_id, **d), actor=actor, shop_id=shop_id)


def shadow_started(store: Store, *, shop_id: str | None, actor: str, **d: Any) -> AuditEntry:
    return write(store, ShadowStarted(shop_id=shop_id, **d), actor=actor, shop_id=shop_id)


def shadow_stopped(store: Store, *, shop_id: str | None, actor: str, **d: Any) -> AuditEntry:
    return write(store, ShadowStopped(shop_id=shop_id, **d), actor=actor, shop_id=shop_id)


def shadow_decided(store: Store, *, key: CaseKey, actor: str = "policy", **d: Any) -> AuditEntry:
    return write(store, ShadowDecided(**d), actor=actor, key=key)


def cap_crossed(store: Store, *, key: CaseKey, actor: str = "policy", **d: Any) -> AuditEntry:
    return write(store, CapCrossed(**d), actor=actor, key=key)


def paused(store: Store, *, shop_id: str | None, actor: str, **d: Any) -> AuditEntry:
    return write(store, Paused(shop_id=shop_id, **d), actor=actor, shop_id=shop_id)


def breaker_tripped(
    store: Store, *, shop_id: str | None, actor: str = "system", **d: Any
) -> AuditEntry:
    return write(store, BreakerTripped(shop_id=shop_id, **d), actor=actor, shop_id=shop_id)


def resumed(store: Store, *, shop_id: str | None, actor: str, **d: Any) -> AuditEntry:
    return write(store, Resumed(shop_id=shop_id, **d), actor=actor, shop_id=shop_id)


# the docs table ---------------------------------------------------------------------------------
def _type_name(annotation: Any) -> str:
    text = str(annotation) if get_args(annotation) else annotation.__name__
    return (
        text.replace("typing.", "")
        .replace("datetime.datetime | str", "time")
        .replace(" | None", " or null")
        .replace(" | ", " or ")
    )


def catalogue_markdown() -> str:
    """The "Audit events" table of docs/operating.md, generated from the models."""
    lines = ["| event | written when | details |", "|---|---|---|"]
    for name, model in sorted(CATALOGUE.items()):
        fields = []
        for field, info in model.model_fields.items():
            optional = "" if info.is_required() else "?"
            text = f"`{field}{optional}`: {_type_name(info.annotation)}"
            if info.description:
                text += f" ({info.description})"
            fields.append(text)
        lines.append(f"| `{name}` | {model.when} | {'; '.join(fields)} |")
    return "\n".join(lines) + "\n"
