"""What the daemon sees of its database: record types and the ``Store`` protocol.

No SQL crosses this boundary. Times are aware UTC datetimes outside the store (UTC ISO text
inside); cases are ``RefundCase`` models; effects use ``connector.effects``. Every write method
opens its own unit of work unless the caller already holds one, and writes its audit entry in
that same transaction. A PostgreSQL backend implements this same protocol.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field

from connector.audit import AuditEntry, AuditEvent, ChainHead
from connector.effects import EffectKind, EffectStatus
from connector.models import CaseStatus, QuarantinedCase, RefundCase

CaseKey = tuple[str, str, str]
"""(platform, shop_id, case_id)"""

DEFAULT_GUARD_LEAD = timedelta(hours=1)
"""Guard time = deadline minus this, unless the caller gives one (casebook rule 11)."""

BUYER_HISTORY_WINDOW = timedelta(days=90)


class CaseState(StrEnum):
    """The connector's own view of where a case stands (the platform's is ``status``)."""

    new = "new"
    """Seen or changed since the last decision: decide it."""
    decided = "decided"
    queued_for_human = "queued_for_human"
    waiting = "waiting"
    """Nothing to do until the buyer or the platform moves, or ``next_review_at``."""
    done = "done"
    left_to_platform = "left_to_platform"


CLOSED_CASE_STATES = frozenset({CaseState.done, CaseState.left_to_platform})


class ChangeKind(StrEnum):
    """What an upsert found, compared with the stored case."""

    new = "new"
    facts_changed = "facts_changed"
    version_only = "version_only"
    """Only the version/modified time moved (e.g. the connector's own write): do not re-decide."""
    unchanged = "unchanged"
    stale = "stale"
    """Older than what is stored (a lagging list page): ignored."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class CaseRecord(_Record):
    platform: str
    shop_id: str
    case_id: str
    order_id: str
    case: RefundCase
    version: str | None
    status: CaseStatus
    state: CaseState
    deadline_at: datetime | None
    guard_at: datetime | None
    facts_hash: str
    next_review_at: datetime | None = None
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None
    claimed_version: str | None = None
    assigned_to: str | None = None
    """The reviewer a colleague assigned the case to (the desk's work list), if any."""
    buyer_id: str
    first_seen_at: datetime
    last_seen_at: datetime
    changed_at: datetime
    raw: Any = None
    """The platform payload with personal data scrubbed."""

    @property
    def key(self) -> CaseKey:
        return (self.platform, self.shop_id, self.case_id)


class StoredVersion(NamedTuple):
    """What intake needs to know of a listed case: is it stored at this version, and settled?"""

    version: str | None
    state: CaseState


class CaseChange(_Record):
    kind: ChangeKind
    record: CaseRecord
    previous_version: str | None = None
    changed_fields: tuple[str, ...] = ()

    @property
    def needs_decision(self) -> bool:
        return self.kind in {ChangeKind.new, ChangeKind.facts_changed}


class DecisionRecord(_Record):
    id: int
    platform: str
    shop_id: str
    case_id: str
    decided_version: str | None
    policy_version: str
    rule_id: str
    action: str
    params: dict[str, Any]
    trace: list[Any]
    decided_at: datetime
    actor: str

    @property
    def case_key(self) -> CaseKey:
        return (self.platform, self.shop_id, self.case_id)


class EffectSpec(_Record):
    """One effect a decision asks for; the store derives its key. Order in the list is kept."""

    kind: EffectKind
    params: dict[str, Any] = Field(default_factory=dict)
    discriminator: str = ""
    """Part of the key where one kind may occur twice at a version (one notice per event)."""


class EffectRecord(_Record):
    id: int
    key: str
    platform: str
    shop_id: str
    case_id: str
    decision_id: int
    position: int
    """Index in its decision; an effect is due only after every earlier sibling is done."""
    kind: EffectKind
    params: dict[str, Any]
    decided_version: str | None
    status: EffectStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_platform_code: str | None
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None

    @property
    def case_key(self) -> CaseKey:
        return (self.platform, self.shop_id, self.case_id)


class ShopRecord(_Record):
    platform: str
    shop_id: str
    cursor: str | None
    high_water_at: datetime | None
    last_poll_at: datetime | None
    poll_lag_s: float | None
    last_full_reconciliation_at: datetime | None
    first_polled_at: datetime | None = None
    """When the connector first wrote this shop's row; the first reconciliation counts from it."""


class QuarantineRecord(_Record):
    id: int
    platform: str | None
    shop_id: str | None
    case_id: str | None
    problems: list[dict[str, str]]
    raw: Any
    first_seen_at: datetime
    last_seen_at: datetime
    seen_count: int
    resolved: bool


class CarrierClaimRecord(_Record):
    """A claim against the carrier: order, item code, waybill and carrier, item price."""

    id: int
    platform: str
    shop_id: str
    case_id: str
    order_id: str
    sku: str
    item_title: str
    quantity: int
    item_price: int
    claim_amount: int
    carrier: str | None
    waybill: str | None
    logistics_status: str | None
    status: str
    created_at: datetime
    exported_at: datetime | None


class TaskStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class TaskRecord(_Record):
    id: int
    platform: str
    shop_id: str
    case_id: str
    kind: str
    deadline_at: datetime | None
    status: TaskStatus
    details: dict[str, Any]
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None


class ConsoleRole(StrEnum):
    """What a console account may do: review cases; also ops pages; also manage accounts."""

    reviewer = "reviewer"
    ops = "ops"
    admin = "admin"


class ConsoleUserRecord(_Record):
    name: str
    role: ConsoleRole
    password_hash: str
    created_at: datetime
    created_by: str
    disabled: bool = False


class ConsoleSessionRecord(_Record):
    """A signed-in browser: the cookie holds a random token, the store only its SHA-256."""

    token_hash: str
    user_name: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class CaseNoteRecord(_Record):
    """A reviewer's note on a case (free text, personal data masked before it is stored)."""

    id: int
    platform: str
    shop_id: str
    case_id: str
    author: str
    body: str
    created_at: datetime


class ApprovalStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    declined = "declined"
    overtaken = "overtaken"
    """The deadline guard decided the case while the second approval was pending."""
    withdrawn = "withdrawn"
    """A person decided the case otherwise."""


class ApprovalRecord(_Record):
    """A refund above the requester's limit waiting for a second person (maker-checker)."""

    id: int
    platform: str
    shop_id: str
    case_id: str
    action: str
    amount_fen: int
    reason: str
    seen_version: str | None
    requested_by: str
    requested_at: datetime
    status: ApprovalStatus
    closed_by: str | None
    closed_at: datetime | None
    decision_id: int | None

    @property
    def key(self) -> CaseKey:
        return (self.platform, self.shop_id, self.case_id)


class ReasonCount(_Record):
    """Cases first seen in a period, per shop, item code and refund reason (the weekly report)."""

    platform: str
    shop_id: str
    sku: str
    item_title: str
    reason: str
    cases: int
    refund_amount: int


class PolicyVersionRecord(_Record):
    """One policy text, by its content hash, and who first brought it (an install or config)."""

    version: str
    name: str
    text: str
    first_seen_at: datetime
    first_seen_by: str


class PolicyRole(StrEnum):
    live = "live"
    """The policy that decides and pushes."""
    shadow = "shadow"
    """A candidate decided beside the live one, recorded and never pushed."""


class PolicyInstallRecord(_Record):
    """One install: ``version`` None stops a shadow; ``shop_id`` None is every shop."""

    id: int
    version: str | None
    shop_id: str | None
    role: PolicyRole
    installed_by: str
    installed_at: datetime
    note: str = ""


class ReplayRow(NamedTuple):
    """A policy decision as a backtest replays it: the facts and time it was made on, and what
    a person decided after it, if anyone did (JSON left as text: parsed only when replayed)."""

    decision_id: int
    key: CaseKey
    policy_version: str
    rule_id: str
    action: str
    params_json: str
    facts_json: str
    facts_at: datetime
    person_action: str | None
    person: str | None


class ShadowDecisionRecord(_Record):
    """A shadow policy's decision beside the live one, and what a person did after, if any."""

    id: int
    platform: str
    shop_id: str
    case_id: str
    decided_version: str | None
    shadow_version: str
    rule_id: str
    action: str
    refund_amount: int
    live_version: str
    live_rule_id: str
    live_action: str
    live_refund_amount: int
    decided_at: datetime
    person_action: str | None = None


class CapEntryKind(StrEnum):
    counted = "counted"
    """An automatic money-moving approval admitted under the shop's caps."""
    fallback = "fallback"
    """A deadline fallback: never held by a cap, counted apart."""
    held = "held"
    """Sent to people because a cap would have been crossed."""


class PauseRecord(_Record):
    """A pause: every shop (``shop_id`` None) or one; all automatic pushes, or (the breaker)
    automatic approval for one refund ``reason_code``. Open until ``resumed_at``."""

    id: int
    shop_id: str | None
    reason_code: str | None
    hold_fallbacks: bool
    why: str
    paused_by: str
    paused_at: datetime
    resumed_by: str | None = None
    resumed_at: datetime | None = None


class Store(Protocol):
    """The daemon's only view of persistence."""

    # transactions -------------------------------------------------------------------------
    def unit_of_work(self) -> AbstractContextManager[None]:
        """One write transaction holding the database's write lock from start to commit."""
        ...

    @property
    def in_unit_of_work(self) -> bool: ...

    def close(self) -> None: ...

    # cases --------------------------------------------------------------------------------
    def upsert_case(
        self, case: RefundCase, raw: Any = None, *, guard_at: datetime | None = None
    ) -> CaseChange: ...

    def import_cases(self, cases: Sequence[RefundCase]) -> int:
        """Store many new cases at once (a bulk load); refuses one already stored."""
        ...

    def get_case(self, key: CaseKey) -> CaseRecord | None: ...

    def stored_versions(self, keys: Sequence[CaseKey]) -> dict[CaseKey, StoredVersion]:
        """The stored version and state of each of these cases that is stored.

        One query for a listed page, instead of a whole record per listed case: every poll
        re-lists its look-back window, so this runs for every listed case every second.
        """
        ...

    def find_cases(self, case_id: str) -> list[CaseRecord]: ...

    def set_case_state(
        self,
        key: CaseKey,
        state: CaseState,
        *,
        actor: str = "system",
        reason: str = "",
        next_review_at: datetime | None = None,
        guard_at: datetime | None = None,
    ) -> CaseRecord: ...

    def cases_due_for_guard(self, now: datetime, limit: int = 500) -> list[CaseRecord]: ...

    def cases_due_for_review(self, now: datetime, limit: int = 500) -> list[CaseRecord]: ...

    def cases_in_state(
        self, state: CaseState, limit: int = 500, *, longest_waiting: bool = False
    ) -> list[CaseRecord]:
        """Nearest deadline first (no deadline last); ``longest_waiting``: oldest change first."""
        ...

    def new_cases_due_by(self, deadline_by: datetime, limit: int = 500) -> list[CaseRecord]:
        """Cases waiting for a decision (``new``) whose deadline is at or before ``deadline_by``."""
        ...

    def count_cases_by_state(self) -> dict[CaseState, int]: ...

    def claim_case(
        self, key: CaseKey, claimant: str, *, until: datetime, seen_version: str | None = None
    ) -> bool: ...

    def release_case(self, key: CaseKey, claimant: str) -> None: ...

    # decisions and effects ----------------------------------------------------------------
    def record_decision(
        self,
        key: CaseKey,
        *,
        decided_version: str | None,
        policy_version: str,
        rule_id: str,
        action: str,
        params: Mapping[str, Any] | None = None,
        trace: Sequence[Any] = (),
        actor: str = "policy",
        effects: Sequence[EffectSpec] = (),
        first_attempt_at: datetime | None = None,
        facts: RefundCase | None = None,
        facts_at: datetime | None = None,
    ) -> tuple[DecisionRecord, list[EffectRecord]]:
        """``facts``/``facts_at``: the case and time the policy decided on (backtests)."""
        ...

    def enqueue_effects(
        self,
        decision_id: int,
        specs: Sequence[EffectSpec],
        *,
        first_attempt_at: datetime | None = None,
    ) -> list[EffectRecord]: ...

    def latest_decision(self, key: CaseKey) -> DecisionRecord | None: ...

    def decisions_of_case(self, key: CaseKey) -> list[DecisionRecord]: ...

    def get_effect(self, effect_id: int) -> EffectRecord | None: ...

    def get_effect_by_key(self, effect_key: str) -> EffectRecord | None: ...

    def due_effects(self, now: datetime, limit: int = 100) -> list[EffectRecord]: ...

    def open_effects(self, key: CaseKey) -> list[EffectRecord]: ...

    def effects_of_case(self, key: CaseKey) -> list[EffectRecord]: ...

    def list_effects(
        self, status: EffectStatus | None = None, limit: int = 500
    ) -> list[EffectRecord]: ...

    def recent_effects(
        self,
        *,
        status: EffectStatus | None = None,
        case_id: str | None = None,
        limit: int = 100,
    ) -> list[EffectRecord]:
        """Newest first, optionally one status and/or one platform case id (any shop)."""
        ...

    def claim_effect(self, effect_id: int) -> EffectRecord: ...

    def mark_effect_done(
        self,
        effect_id: int,
        *,
        platform_code: str | None = None,
        latency_ms: float | None = None,
        detail: str = "",
    ) -> EffectRecord: ...

    def mark_effect_unknown(
        self,
        effect_id: int,
        *,
        error: str,
        next_attempt_at: datetime,
        platform_code: str | None = None,
        latency_ms: float | None = None,
    ) -> EffectRecord: ...

    def reschedule_effect(
        self,
        effect_id: int,
        *,
        error: str,
        next_attempt_at: datetime,
        platform_code: str | None = None,
        latency_ms: float | None = None,
    ) -> EffectRecord: ...

    def mark_effect_failed(
        self,
        effect_id: int,
        *,
        error: str,
        platform_code: str | None = None,
        latency_ms: float | None = None,
    ) -> EffectRecord: ...

    def supersede_open_effects(self, key: CaseKey, *, reason: str) -> list[EffectRecord]: ...

    def mark_effect_superseded(
        self, effect_id: int, *, reason: str, platform_code: str | None = None
    ) -> EffectRecord: ...

    def retry_effect(
        self,
        effect_id: int,
        *,
        actor: str,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> EffectRecord: ...

    def cancel_effect(
        self,
        effect_id: int,
        *,
        actor: str,
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> EffectRecord: ...

    def recover_in_flight(self) -> list[EffectRecord]: ...

    # shops and cursors --------------------------------------------------------------------
    def get_shop(self, platform: str, shop_id: str) -> ShopRecord | None: ...

    def list_shops(self) -> list[ShopRecord]: ...

    def advance_cursor(
        self, platform: str, shop_id: str, *, cursor: str | None, high_water_at: datetime | None
    ) -> ShopRecord: ...

    def record_poll(self, platform: str, shop_id: str, *, lag_s: float | None) -> ShopRecord: ...

    def record_full_reconciliation(self, platform: str, shop_id: str) -> ShopRecord: ...

    # quarantine ---------------------------------------------------------------------------
    def quarantine(self, item: QuarantinedCase) -> QuarantineRecord: ...

    def list_quarantine(self, *, include_resolved: bool = False) -> list[QuarantineRecord]: ...

    def resolve_quarantine(self, quarantine_id: int, *, actor: str) -> QuarantineRecord: ...

    # buyer history ------------------------------------------------------------------------
    def record_buyer_refund(
        self, key: CaseKey, *, buyer_id: str, amount: int, refunded_at: datetime
    ) -> bool: ...

    def buyer_refunds_within(
        self,
        platform: str,
        buyer_id: str,
        now: datetime,
        window: timedelta = BUYER_HISTORY_WINDOW,
    ) -> int: ...

    def latest_action_counts(self) -> dict[str, int]:
        """Cases per action of their latest decision (progress displays, the demo summary)."""
        ...

    def cases_left_to_platform(self) -> set[CaseKey]: ...

    def effect_status_counts(self) -> dict[str, int]: ...

    def refunded_on_order(
        self, platform: str, shop_id: str, order_id: str, *, exclude_case_id: str | None = None
    ) -> int:
        """Fen the connector already refunded on this order (other cases than the one given)."""
        ...

    def flag_buyer(self, platform: str, buyer_id: str, *, actor: str, reason: str) -> None: ...

    def unflag_buyer(self, platform: str, buyer_id: str, *, actor: str) -> None: ...

    def flagged_buyers(self, platform: str) -> frozenset[str]: ...

    # carrier claims -----------------------------------------------------------------------
    def record_carrier_claim(
        self, key: CaseKey, *, case: RefundCase, effect_id: int
    ) -> CarrierClaimRecord: ...

    def list_carrier_claims(self) -> list[CarrierClaimRecord]: ...

    def mark_claims_exported(
        self,
        claim_ids: Sequence[int],
        *,
        actor: str,
        details: Mapping[str, Any] | None = None,
    ) -> list[CarrierClaimRecord]:
        """Set ``exported_at`` (the first export's time is kept) and audit the export."""
        ...

    # tasks for people ---------------------------------------------------------------------
    def open_task(
        self,
        key: CaseKey,
        kind: str,
        *,
        deadline_at: datetime | None,
        details: Mapping[str, Any] | None = None,
    ) -> TaskRecord: ...

    def close_task(
        self, task_id: int, *, actor: str, status: TaskStatus = TaskStatus.done
    ) -> TaskRecord: ...

    def open_tasks(self, kind: str | None = None) -> list[TaskRecord]: ...

    # audit --------------------------------------------------------------------------------
    def append_audit(
        self,
        event: AuditEvent | str,
        *,
        actor: str,
        key: CaseKey | None = None,
        platform: str | None = None,
        shop_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Requires an open unit of work: an entry is written with the change it records."""
        ...

    def audit_entries(
        self,
        *,
        after_seq: int = 0,
        case_id: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[AuditEntry]: ...

    def audit_head(self) -> ChainHead | None: ...

    # web console --------------------------------------------------------------------------
    def add_console_user(
        self,
        name: str,
        role: ConsoleRole,
        password_hash: str,
        *,
        actor: str,
        details: Mapping[str, Any] | None = None,
    ) -> ConsoleUserRecord:
        """A new console account (refused if the name exists), audited ``console_user_added``."""
        ...

    def get_console_user(self, name: str) -> ConsoleUserRecord | None: ...

    def list_console_users(self) -> list[ConsoleUserRecord]: ...

    def create_console_session(
        self, token_hash: str, user_name: str, *, csrf_token: str, expires_at: datetime
    ) -> ConsoleSessionRecord:
        """Also drops sessions that have expired (the caller audits the login)."""
        ...

    def get_console_session(self, token_hash: str, now: datetime) -> ConsoleSessionRecord | None:
        """The session if it exists and has not expired at ``now``."""
        ...

    def delete_console_session(self, token_hash: str) -> None: ...

    def update_console_user(
        self,
        name: str,
        *,
        actor: str,
        event: str,
        role: ConsoleRole | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
        end_sessions: bool = False,
        details: Mapping[str, Any] | None = None,
    ) -> ConsoleUserRecord:
        """Change an account's role, password hash or disabled flag (``None`` keeps it), and
        optionally end its sessions; audited as ``event`` in the same transaction."""
        ...

    def list_console_sessions(self, now: datetime) -> list[ConsoleSessionRecord]:
        """Sessions alive at ``now``, per account."""
        ...

    def end_console_session(
        self, token_hash: str, *, actor: str, details: Mapping[str, Any] | None = None
    ) -> bool:
        """End one session (audited ``console_session_ended``); False if it did not exist."""
        ...

    # the reviewer's desk ---------------------------------------------------------------------
    def assign_case(self, key: CaseKey, assignee: str | None, *, actor: str) -> None:
        """Assign (or, with None, unassign) a case to a reviewer; audited ``case_assigned``."""
        ...

    def add_case_note(self, key: CaseKey, body: str, *, actor: str) -> CaseNoteRecord:
        """A note with personal data masked; audited ``case_note_added`` (without the text)."""
        ...

    def case_notes(self, key: CaseKey) -> list[CaseNoteRecord]: ...

    def request_approval(
        self,
        key: CaseKey,
        *,
        action: str,
        amount_fen: int,
        reason: str,
        seen_version: str | None,
        actor: str,
    ) -> ApprovalRecord:
        """Open a second approval (one pending per case); audited ``approval_requested``."""
        ...

    def pending_approval(self, key: CaseKey) -> ApprovalRecord | None: ...

    def pending_approvals(self) -> list[ApprovalRecord]: ...

    def close_approval(
        self,
        approval_id: int,
        status: ApprovalStatus,
        *,
        actor: str,
        decision_id: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> ApprovalRecord:
        """Close a pending approval; audited ``approval_<status>``. Refused if not pending."""
        ...

    def cache_evidence_image(self, url: str, content_type: str, body: bytes) -> None: ...

    def cached_evidence_image(self, url: str) -> tuple[str, bytes] | None: ...

    def search_audit(
        self,
        *,
        case_id: str | None = None,
        order_id: str | None = None,
        shop_id: str | None = None,
        event: str | None = None,
        rule_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]:
        """Newest first. ``event`` matches the event or the details' action; ``rule_id`` the
        details' rule; ``order_id`` the entries of every case on that order."""
        ...

    def refund_reason_counts(self, since: datetime, until: datetime) -> list[ReasonCount]:
        """Cases first seen in [since, until) counted per shop, SKU and reason, most first."""
        ...

    # policy history and safety (issue 20) -------------------------------------------------
    def record_policy_version(
        self, version: str, *, name: str, text: str, actor: str
    ) -> PolicyVersionRecord:
        """Keep a policy text by its hash (no-op if kept): every version that decides is kept."""
        ...

    def install_policy(
        self,
        version: str | None,
        *,
        shop_id: str | None,
        role: PolicyRole,
        actor: str,
        event: str,
        name: str = "",
        text: str = "",
        note: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> PolicyInstallRecord:
        """Record an install (its text kept by hash), audited as ``event``, in one transaction."""
        ...

    def get_policy_version(self, version: str) -> PolicyVersionRecord | None: ...

    def policy_versions(self) -> list[PolicyVersionRecord]:
        """Oldest first."""
        ...

    def policy_installs(
        self, *, shop_id: str | None = None, role: PolicyRole | None = None
    ) -> list[PolicyInstallRecord]:
        """Newest first; ``shop_id`` gives that shop's installs and those for every shop."""
        ...

    def current_policy_install(self, shop_id: str, role: PolicyRole) -> PolicyInstallRecord | None:
        """The latest install of ``role`` for this shop or for every shop."""
        ...

    def decisions_to_replay(
        self, *, since: datetime | None = None, shop_id: str | None = None
    ) -> list[ReplayRow]:
        """Each case's latest policy decision kept with its facts, decided at or after ``since``,
        with the latest person's decision after it (oldest first)."""
        ...

    def record_shadow_decision(
        self,
        key: CaseKey,
        *,
        decided_version: str | None,
        shadow_version: str,
        rule_id: str,
        action: str,
        refund_amount: int,
        live_version: str,
        live_rule_id: str,
        live_action: str,
        live_refund_amount: int,
    ) -> ShadowDecisionRecord:
        """Record it with its ``shadow_decided`` audit entry; it has no effects, ever."""
        ...

    def shadow_decisions(
        self, shop_id: str, *, shadow_version: str | None = None
    ) -> list[ShadowDecisionRecord]:
        """Each case's latest shadow decision for this shop (and version), oldest first, with
        the latest person's decision made on the case since."""
        ...

    def cap_usage(self, shop_id: str, *, kind: CapEntryKind, since: datetime) -> tuple[int, int]:
        """(count, fen) of this shop's ledger entries of ``kind`` at or after ``since``."""
        ...

    def add_cap_entry(
        self,
        key: CaseKey,
        *,
        decided_version: str | None,
        kind: CapEntryKind,
        amount: int,
        reason: str,
        detail: str = "",
        at: datetime | None = None,
    ) -> bool:
        """Add a ledger entry; False (and nothing written) if this case version has one of
        ``kind`` already. Call inside the unit of work that counted the usage."""
        ...

    def cap_entry_exists(
        self, key: CaseKey, *, decided_version: str | None, kind: CapEntryKind
    ) -> bool: ...

    def cap_entries_by_reason(
        self, shop_id: str, *, kind: CapEntryKind, since: datetime, until: datetime
    ) -> dict[str, int]:
        """Entries of ``kind`` in [since, until) per refund reason (the breaker's rates)."""
        ...

    def add_pause(
        self,
        *,
        shop_id: str | None,
        reason_code: str | None,
        hold_fallbacks: bool,
        why: str,
        actor: str,
        event: str,
        details: Mapping[str, Any] | None = None,
    ) -> PauseRecord:
        """Open a pause, audited as ``event`` in the same transaction."""
        ...

    def resume_pauses(
        self, *, shop_id: str | None, reason_code: str | None, actor: str, why: str = ""
    ) -> list[PauseRecord]:
        """Close the open pauses of exactly this scope (audited ``resumed``); held effects
        become due now."""
        ...

    def open_pauses(self) -> list[PauseRecord]: ...

    def get_decision(self, decision_id: int) -> DecisionRecord | None: ...

    def hold_effect(self, effect_id: int, *, until: datetime, why: str) -> None:
        """Put a due effect off without counting an attempt (a pause holds it)."""
        ...
