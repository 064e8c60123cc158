"""What a newly read platform version of a case means for the connector, whatever the backend.

Pure rules, no I/O: every ``Store`` backend (SQLite today, PostgreSQL later) calls them inside
the unit of work that stores the version, so the domain rule lives here once.

- ``classify_change``: is the read new, stale, the same, or only a version move?
  (guarded by ``tests/unit/test_casechange.py``); ``fact_material`` says what counts as facts:
  not the volatile fields nor what the desk only shows (chat record, trace steps).
- ``state_on_arrival``: a version that arrives refunded or closed settles the case.
- ``outlived_effects``: the writes that a version ending the seller's part leaves with nothing
  to do (casebook rule 1); the store supersedes them in the same unit of work, whether or not the
  decider ever runs again (guarded by ``tests/unit/test_casechange.py`` and
  ``tests/integration/test_case_ended_at_platform.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, TypeVar

from connector.effects import NOTICE_EFFECTS, EffectKind, EffectStatus
from connector.models import TERMINAL_STATUSES, CaseStatus
from connector.store.api import CaseState, ChangeKind

SELLER_DONE_STATUSES = frozenset({CaseStatus.refunded, CaseStatus.closed, CaseStatus.in_dispute})
"""Platform states that end the seller's part: refunded (by anyone), closed (the buyer cancelled,
a timer ran out) and taken over by the platform (intervention). A write decided on an earlier
version has nothing left to do once one of these is stored."""

TARGET_STATUSES: dict[EffectKind, frozenset[CaseStatus]] = {
    EffectKind.agree_refund: frozenset({CaseStatus.refunded}),
    EffectKind.confirm_return_and_refund: frozenset({CaseStatus.refunded}),
    EffectKind.agree_return: frozenset(
        {CaseStatus.awaiting_buyer_return, CaseStatus.awaiting_seller_receipt, CaseStatus.refunded}
    ),
    EffectKind.refuse_refund: frozenset({CaseStatus.refused, CaseStatus.in_dispute}),
}
"""Where each platform write leaves the case: seeing this state on a re-read means it may have
landed. Only these writes can be re-read before a resend whose outcome is unknown."""

VOLATILE_CASE_FIELDS = frozenset({"version", "updated_at"})
"""Fields that move on every write, including the connector's own: not part of the facts."""

DISPLAY_ONLY_FIELDS = frozenset({"chat", "logistics_steps", "return_logistics_steps"})
"""What the desk shows beyond the facts (the chat record, each parcel's trace steps): no policy
reads them, so a new message or a new trace step is no news for the decider. The parcel's
status (``logistics.status``), the pictures (``evidence``) and the times stay facts."""

NOT_FACTS = VOLATILE_CASE_FIELDS | DISPLAY_ONLY_FIELDS
"""Top-level case fields left out of the facts a stored version is compared by."""


def fact_material(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a stored case document that counts as its facts (hashed and compared)."""
    return {k: v for k, v in doc.items() if k not in NOT_FACTS}


def changed_facts(doc: Mapping[str, Any], previous: Mapping[str, Any]) -> tuple[str, ...]:
    """The top-level fact fields whose values differ between two stored case documents."""
    return tuple(
        sorted(
            name
            for name in set(doc) | set(previous)
            if name not in NOT_FACTS and doc.get(name) != previous.get(name)
        )
    )


_SENT_OR_SENDING = frozenset({EffectStatus.done, EffectStatus.in_flight, EffectStatus.unknown})


class PreviousVersion(NamedTuple):
    """What the store holds of a case, as the classification needs it."""

    version: str | None
    updated_at: datetime | None
    facts_hash: str


def classify_change(
    previous: PreviousVersion | None,
    *,
    version: str | None,
    updated_at: datetime | None,
    facts_hash: str,
) -> ChangeKind:
    """Compare a read with what is stored: older reads (a lagging list page) are stale, equal
    facts at a new version are the connector's own write echoed back, anything else is news."""
    if previous is None:
        return ChangeKind.new
    if previous.updated_at and updated_at and updated_at < previous.updated_at:
        return ChangeKind.stale
    if previous.facts_hash == facts_hash:
        if previous.version == version and previous.updated_at == updated_at:
            return ChangeKind.unchanged
        return ChangeKind.version_only
    return ChangeKind.facts_changed


def state_on_arrival(status: CaseStatus) -> CaseState:
    """A case read refunded or closed is settled; any other news is decided (again)."""
    return CaseState.done if status in TERMINAL_STATUSES else CaseState.new


def ends_sellers_part(status: CaseStatus) -> bool:
    return status in SELLER_DONE_STATUSES


class EffectView(Protocol):
    """The parts of an outbox row the rule reads (``EffectRecord`` has them)."""

    @property
    def kind(self) -> EffectKind: ...
    @property
    def status(self) -> EffectStatus: ...
    @property
    def decision_id(self) -> int: ...
    @property
    def decided_version(self) -> str | None: ...


E = TypeVar("E", bound=EffectView)


def outlived_effects(status: CaseStatus, version: str | None, effects: Sequence[E]) -> list[E]:
    """The writes of earlier decisions that the stored version ``(status, version)`` leaves
    with nothing to do: supersede them, send none.

    - Only when ``status`` ends the seller's part (``SELLER_DONE_STATUSES``), and only effects
      decided on another version (a person may still answer a dispute at its own version).
    - A decision whose own write may have brought the case here (one of its writes done, in
      flight or of unknown outcome, whose target is ``status``: our agreement made it refunded)
      keeps its follow-ups (the order memo, the carrier claim).
    - Pending effects (waiting for their first send or a retry) go.
    - An effect in flight is left to its sender; one of unknown outcome that a re-read can tell
      (``TARGET_STATUSES``) is left to the relay, which re-reads before any resend and records
      what it finds (applied: done, with the buyer's refund counted; not applied: superseded).
      One a re-read cannot tell (a message, a memo, a warehouse void) goes: resending it after
      the case ended is the stale write this rule exists to prevent.
    - Notices to ops stay true whatever the case does, as in ``supersede_open_effects``.
    """
    if not ends_sellers_part(status):
        return []
    ours = {
        e.decision_id
        for e in effects
        if e.status in _SENT_OR_SENDING and status in TARGET_STATUSES.get(e.kind, frozenset())
    }
    outlived: list[E] = []
    for effect in effects:
        if (
            effect.kind in NOTICE_EFFECTS
            or effect.decided_version == version
            or effect.decision_id in ours
        ):
            continue
        if effect.status is EffectStatus.pending or (
            effect.status is EffectStatus.unknown and effect.kind not in TARGET_STATUSES
        ):
            outlived.append(effect)
    return outlived


def ended_reason(status: CaseStatus, version: str | None) -> str:
    """The audit's words for a supersession by such a version."""
    return f"the platform ended the seller's part: {status} at version {version or '-'}"
