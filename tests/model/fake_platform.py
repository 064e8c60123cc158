"""An in-memory platform and its adapter for the lifecycle model: no network, scripted outcomes.

The platform keeps each case's status, compare-and-set version and refunded total, and a ledger
of every write it applied. Writes that change the case check the version (a stale one is a
conflict); others (message, memo) are idempotent by the effect's stable key, as a platform that
dedupes by request id. Each ``submit`` takes the next scripted outcome.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from importlib import resources
from typing import Any, ClassVar

from connector.adapter import AdapterSettings, Capability, CasePage, PlatformAdapter, SyncWindow
from connector.effects import EffectKind, EffectRequest, SubmitOutcome, SubmitResult
from connector.errors import (
    ActionForbiddenError,
    ConflictError,
    NotFoundError,
    OutcomeUnknownError,
    UnavailableError,
)
from connector.facts import ALL_FACTS, Fact
from connector.models import CaseStatus, RefundCase

PLATFORM = "fakeplat"
SHOP = "model-shop"

STATUS_AFTER: dict[EffectKind, CaseStatus] = {
    EffectKind.agree_refund: CaseStatus.refunded,
    EffectKind.confirm_return_and_refund: CaseStatus.refunded,
    EffectKind.agree_return: CaseStatus.awaiting_buyer_return,
    EffectKind.refuse_refund: CaseStatus.refused,
}
MONEY = frozenset({EffectKind.agree_refund, EffectKind.confirm_return_and_refund})
OPEN = frozenset({CaseStatus.awaiting_seller, CaseStatus.awaiting_seller_receipt})


class Outcome(StrEnum):
    applied = "applied"
    lost = "lost"
    """Applied, but the response is lost: the connector sees an unknown outcome."""
    conflict = "conflict"
    retryable = "retryable"
    permanent = "permanent"
    crash_before = "crash_before"
    """The process dies after claiming, before the request leaves."""
    crash_after = "crash_after"
    """The process dies after the platform applied the write, before recording it."""


class Crash(BaseException):
    """The connector process dying: not an Exception, so nothing in the daemon catches it."""


def templates() -> list[dict[str, Any]]:
    """Casebook cases the default policy answers with a platform write (or a person)."""
    wanted = {"P007", "P009", "P010", "P011", "P012", "P013", "P016", "P024", "P003"}
    text = resources.files("connector.data").joinpath("casebook.jsonl").read_text("utf-8")
    found = []
    for line in text.splitlines():
        entry = json.loads(line)
        if entry["id"] in wanted:
            found.append(entry["case"])
    return found


@dataclass
class PlatformCase:
    case: dict[str, Any]
    version: int = 1
    refunded: int = 0


@dataclass
class Applied:
    case_id: str
    version: str | None
    kind: EffectKind
    amount: int = 0


@dataclass
class FakePlatform:
    cases: dict[str, PlatformCase] = field(default_factory=dict)
    ledger: list[Applied] = field(default_factory=list)
    keys_applied: set[str] = field(default_factory=set)
    script: list[Outcome] = field(default_factory=list)
    on_send: Callable[[EffectRequest], None] | None = None
    """Called as each write arrives, before it is answered: the model checks the store then."""

    def add(self, template: dict[str, Any], case_id: str, now: datetime) -> None:
        case = {
            **template,
            "platform": PLATFORM,
            "shop_id": SHOP,
            "case_id": case_id,
            "order_id": f"order-{case_id}",
            "updated_at": now.isoformat(),
        }
        self.cases[case_id] = PlatformCase(case=case)

    def canonical(self, case_id: str) -> RefundCase:
        held = self.cases.get(case_id)
        if held is None:
            raise NotFoundError("no such case", platform=PLATFORM, case_id=case_id)
        return RefundCase.model_validate({**held.case, "version": str(held.version)})

    def buyer_edits(self, case_id: str, now: datetime) -> None:
        """The buyer changes the amount asked (sometimes above what was paid): a new version."""
        held = self.cases[case_id]
        paid = int(held.case["paid_amount"])
        asked = int(held.case["refund_amount"])
        held.case["refund_amount"] = paid + 100 if asked <= paid else paid
        self._touch(held, now)

    def buyer_cancels(self, case_id: str, now: datetime) -> None:
        held = self.cases[case_id]
        held.case["status"] = CaseStatus.closed.value
        self._touch(held, now)

    @staticmethod
    def _touch(held: PlatformCase, now: datetime) -> None:
        held.version += 1
        held.case["updated_at"] = max(now, _at(held.case["updated_at"]) + timedelta(seconds=1))
        held.case["updated_at"] = held.case["updated_at"].isoformat()

    def submit(self, effect: EffectRequest) -> SubmitResult:
        if self.on_send is not None:
            self.on_send(effect)
        outcome = self.script.pop(0) if self.script else Outcome.applied
        if outcome is Outcome.crash_before:
            raise Crash
        if outcome is Outcome.conflict:
            raise ConflictError("scripted conflict", platform=PLATFORM, case_id=effect.case_id)
        if outcome is Outcome.retryable:
            raise UnavailableError("scripted 503", platform=PLATFORM, case_id=effect.case_id)
        if outcome is Outcome.permanent:
            raise ActionForbiddenError("scripted refusal", platform=PLATFORM)
        result = self._apply(effect)
        if outcome is Outcome.lost:
            raise OutcomeUnknownError("scripted lost response", platform=PLATFORM)
        if outcome is Outcome.crash_after:
            raise Crash
        return result

    def _apply(self, effect: EffectRequest) -> SubmitResult:
        held = self.cases.get(effect.case_id)
        if held is None:
            raise NotFoundError("no such case", platform=PLATFORM, case_id=effect.case_id)
        target = STATUS_AFTER.get(effect.kind)
        if target is None:  # message, memo: deduped by the stable key
            if effect.key in self.keys_applied:
                return SubmitResult(outcome=SubmitOutcome.already_done)
            self.keys_applied.add(effect.key)
            self.ledger.append(Applied(effect.case_id, effect.version, effect.kind))
            return SubmitResult(outcome=SubmitOutcome.applied)
        status = CaseStatus(held.case["status"])
        if status is target:
            return SubmitResult(outcome=SubmitOutcome.already_done)
        if effect.version != str(held.version):
            raise ConflictError("stale version", platform=PLATFORM, case_id=effect.case_id)
        if status not in OPEN:
            raise ActionForbiddenError(f"case is {status}", platform=PLATFORM)
        amount = (
            int(effect.params.get("amount", held.case["refund_amount"]))
            if (effect.kind in MONEY)
            else 0
        )
        held.case["status"] = target.value
        held.refunded += amount
        self.ledger.append(Applied(effect.case_id, effect.version, effect.kind, amount))
        self._touch(held, _at(held.case["updated_at"]))
        return SubmitResult(outcome=SubmitOutcome.applied, new_version=str(held.version))


def _at(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class FakeAdapter(PlatformAdapter):
    """The connector's view of ``FakePlatform`` (one shop)."""

    platform: ClassVar[str] = PLATFORM
    settings_model: ClassVar[type[AdapterSettings]] = AdapterSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.list_cases,
            Capability.get_case,
            Capability.agree_refund,
            Capability.agree_return,
            Capability.confirm_return_and_refund,
            Capability.refuse_refund,
            Capability.message_buyer,
            Capability.write_order_memo,
        }
    )
    fake: FakePlatform

    def check(self) -> None:
        return None

    def list_cases(self, window: SyncWindow, page: str | None = None) -> CasePage:
        cases = [self.fake.canonical(case_id) for case_id in sorted(self.fake.cases)]
        return CasePage(cases=cases, raw=[{"id": c.case_id} for c in cases])

    def get_case(self, case_id: str, facts: frozenset[Fact] = ALL_FACTS) -> RefundCase:
        del facts  # this fake's case record carries every fact
        return self.fake.canonical(case_id)

    def submit(self, effect: EffectRequest) -> SubmitResult:
        return self.fake.submit(effect)
