"""A loaded policy: named thresholds and ordered rules, immutable once loaded.

Built only by ``connector.policy.loader`` (which refuses anything invalid), read by the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from connector.policy.conditions import Condition, ThresholdValue
from connector.policy.decision import Action, AttachKind, OnDeadline
from connector.policy.limits import Breaker, Caps

GUARD_ESCALATE = "deadline_escalate"
"""Threshold: at most this long before deadline_at, the guard escalates (rule 11, first step)."""
GUARD_FALLBACK = "deadline_fallback"
"""Threshold: at most this long before deadline_at, a human takes the platform's outcome."""

RefundParam = Literal["requested"] | int


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: all conditions must hold (AND); the first matching rule in order wins."""

    id: str
    position: int
    description: str
    action: Action
    conditions: tuple[Condition, ...] = ()
    description_zh: str = ""
    refund_amount: RefundParam | None = None
    warehouse_void: bool = False
    carrier_claim: bool = False
    fallback: Action | None = None
    return_shipping_paid_by: Literal["buyer", "seller"] | None = None
    evidence_kinds: tuple[AttachKind, ...] = ()
    escalate: bool = False
    on_deadline: OnDeadline = OnDeadline.platform_outcome


@dataclass(frozen=True, slots=True)
class Policy:
    """Thresholds plus ordered rules; ``version`` is a hash of the file's content (not layout)."""

    name: str
    source: str
    version: str
    thresholds: Mapping[str, ThresholdValue]
    rules: tuple[Rule, ...]
    description: str = ""
    unused_thresholds: tuple[str, ...] = field(default=())
    text: str = field(default="", compare=False, repr=False)
    """The TOML it was parsed from, kept so every version that decides can be stored."""
    caps: Caps = field(default_factory=Caps)
    """Blast-radius caps on automatic refunds (``[caps]``)."""
    breaker: Breaker | None = None
    """Pause automatic approval for a reason whose rate jumps (``[breaker]``)."""

    @property
    def guard_escalate(self) -> timedelta:
        value = self.thresholds[GUARD_ESCALATE]
        assert isinstance(value, timedelta), "the loader checks guard thresholds"
        return value

    @property
    def guard_fallback(self) -> timedelta:
        value = self.thresholds[GUARD_FALLBACK]
        assert isinstance(value, timedelta), "the loader checks guard thresholds"
        return value

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)
