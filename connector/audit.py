"""The audit log's rules, independent of any database: events, actors, redaction, the hash chain.

Each entry's hash is SHA-256 over the previous entry's hash followed by the canonical JSON of the
entry (its seq, time, actor, event, case reference and details), so an edited, deleted, reordered
or inserted row breaks the chain at a place ``verify_chain`` can name. A separate chain head (last
seq and hash) catches rows cut from the end. The store writes entries; this module only checks.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from connector.errors import StoreError
from connector.privacy import private_paths, scrub

GENESIS_HASH = "0" * 64


class AuditEvent(StrEnum):
    case_seen = "case_seen"
    case_changed = "case_changed"
    quarantined = "quarantined"
    decided = "decided"
    effect_attempt = "effect_attempt"
    """An attempt ended without a final answer: ``outcome`` is ``unknown`` or ``retry``."""
    effect_done = "effect_done"
    effect_failed = "effect_failed"
    effect_superseded = "effect_superseded"
    effect_cancelled = "effect_cancelled"
    effect_requeued = "effect_requeued"
    escalated = "escalated"
    deadline_fallback = "deadline_fallback"
    human_action = "human_action"
    case_state = "case_state"
    task_opened = "task_opened"
    task_closed = "task_closed"
    buyer_flagged = "buyer_flagged"
    buyer_unflagged = "buyer_unflagged"
    quarantine_resolved = "quarantine_resolved"
    carrier_claim_opened = "carrier_claim_opened"


_HUMAN_ACTOR = re.compile(r"^human:[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_FIXED_ACTORS = frozenset({"system", "policy", "platform"})


class AuditRedactionError(StoreError):
    """Audit details carried a key that names buyer personal data or a secret: refused."""


def check_actor(actor: str) -> str:
    """``system``, ``policy``, ``platform`` or ``human:<name>``; anything else is a bug."""
    if actor in _FIXED_ACTORS or _HUMAN_ACTOR.match(actor):
        return actor
    msg = f"audit actor {actor!r} must be system, policy, platform or human:<name>"
    raise StoreError(msg)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal):  # exact wire money (JD's yuan): kept exact, as text
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    msg = f"{type(value).__name__} is not JSON serializable"
    raise TypeError(msg)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text, no NaN: the same bytes for the same content."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def clean_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalise details to plain JSON; refuse personal-data keys, mask phone numbers in text."""
    if details is None:
        return {}
    try:
        normal: dict[str, Any] = json.loads(canonical_json(dict(details)))
    except (TypeError, ValueError) as exc:
        msg = f"audit details are not plain JSON: {exc}"
        raise StoreError(msg) from exc
    bad = private_paths(normal)
    if bad:
        msg = (
            "audit details must never carry buyer personal data or secrets; refused keys: "
            + ", ".join(bad)
        )
        raise AuditRedactionError(msg)
    masked: dict[str, Any] = scrub(normal)
    return masked


def entry_body(
    *,
    seq: int,
    at: str,
    actor: str,
    event: str,
    platform: str | None,
    shop_id: str | None,
    case_id: str | None,
    details: Mapping[str, Any],
) -> dict[str, Any]:
    """The hashed part of an entry (everything except the two hashes)."""
    return {
        "seq": seq,
        "at": at,
        "actor": actor,
        "event": event,
        "platform": platform,
        "shop_id": shop_id,
        "case_id": case_id,
        "details": dict(details),
    }


def chain_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


class AuditEntry(BaseModel):
    """One stored audit row. ``at`` is kept as the exact stored UTC ISO text (it is hashed)."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: str
    actor: str
    event: str
    platform: str | None = None
    shop_id: str | None = None
    case_id: str | None = None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @property
    def at_datetime(self) -> datetime:
        return datetime.fromisoformat(self.at)

    def body(self) -> dict[str, Any]:
        return entry_body(
            seq=self.seq,
            at=self.at,
            actor=self.actor,
            event=self.event,
            platform=self.platform,
            shop_id=self.shop_id,
            case_id=self.case_id,
            details=self.details,
        )


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last seq and hash, kept apart from the rows so truncation is visible."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_seq is None and self.problem is None

    def describe(self) -> str:
        if self.intact:
            return f"{self.entries} entries, chain intact"
        where = f"entry seq {self.broken_seq}" if self.broken_seq is not None else "chain head"
        return f"audit chain BROKEN at {where}: {self.problem}"


class UnreadableAuditEntryError(StoreError):
    """A stored audit row that cannot even be read back as an entry: it was tampered with."""

    def __init__(self, seq: int, reason: str) -> None:
        self.seq = seq
        self.reason = reason
        super().__init__(f"audit entry seq {seq} cannot be read: {reason}")


def verify_chain(entries: Iterable[AuditEntry], head: ChainHead | None) -> VerifyReport:
    """Recompute the chain in seq order and report the first entry that does not fit.

    A row the store cannot read back (``UnreadableAuditEntryError`` while iterating) is broken
    too, and is named like any other.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    for entry in _readable(entries):
        if isinstance(entry, UnreadableAuditEntryError):
            problem = f"its content cannot be read ({entry.reason}): edited"
            return VerifyReport(count, entry.seq, problem)
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                missing = (
                    f"{expected_seq}"
                    if entry.seq == expected_seq + 1
                    else f"{expected_seq}..{entry.seq - 1}"
                )
                problem = f"missing (seq {missing} deleted?): next stored entry is seq {entry.seq}"
                return VerifyReport(count, expected_seq, problem)
            problem = f"out of order: seq {entry.seq} appears where seq {expected_seq} belongs"
            return VerifyReport(count, expected_seq, problem)
        if entry.prev_hash != prev_hash:
            problem = (
                f"its prev_hash does not match the hash of entry {expected_seq - 1} "
                "(an entry was inserted, reordered or rewritten before it)"
                if expected_seq > 1
                else "the first entry does not start from the genesis hash"
            )
            return VerifyReport(count, entry.seq, problem)
        if chain_hash(prev_hash, entry.body()) != entry.hash:
            problem = "its content does not match its hash (edited)"
            return VerifyReport(count, entry.seq, problem)
        prev_hash = entry.hash
        expected_seq += 1
        count += 1
    last_seq = expected_seq - 1
    if head is None:
        if last_seq:
            return VerifyReport(count, None, "entries exist but the chain head record is missing")
        return VerifyReport(count)
    if head.seq > last_seq:
        problem = (
            f"missing (deleted from the end?): the head records seq {head.seq} "
            f"but the log ends at seq {last_seq}"
        )
        return VerifyReport(count, last_seq + 1, problem)
    if head.seq < last_seq:
        problem = f"appended without the writer: the head records seq {head.seq}"
        return VerifyReport(count, head.seq + 1, problem)
    if head.hash != prev_hash:
        return VerifyReport(count, None, f"the head hash does not match entry {last_seq}")
    return VerifyReport(count)


def _readable(
    entries: Iterable[AuditEntry],
) -> Iterable[AuditEntry | UnreadableAuditEntryError]:
    """The entries, with an unreadable row yielded as its error (then the iteration ends)."""
    iterator = iter(entries)
    while True:
        try:
            entry = next(iterator)
        except StopIteration:
            return
        except UnreadableAuditEntryError as exc:
            yield exc
            return
        yield entry
