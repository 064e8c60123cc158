"""Compiled rule conditions: each tests one case field and reports what it saw.

The loader builds these from TOML (see docs/policy.md); the engine only calls ``check``. Every
check returns a ``ConditionChecked`` trace step carrying the actual value, so a decision can always
say why it was made. A null field never satisfies a comparison, a time test or an equality; it
does satisfy ``ne``/``not_in`` (null is not that value) and ``absent``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from connector.models import RefundCase
from connector.policy.decision import ConditionChecked
from connector.policy.fields import field_value, render_value

ThresholdValue = int | timedelta
Thresholds = Mapping[str, ThresholdValue]

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """``"168h"``, ``"7d"``, ``"1h30m"``, ``"15m"``, ``"90s"`` → timedelta; ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        msg = f"{text!r} is not a duration (write e.g. '168h', '7d', '1h30m', '15m', '90s')"
        raise ValueError(msg)
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(span: timedelta) -> str:
    """The inverse of ``parse_duration`` (``168h`` → ``"7d"``), for traces and docs."""
    total = int(span.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if v]
    return "".join(parts) or "0s"


@dataclass(frozen=True, slots=True)
class FieldRef:
    """An operand that is another field of the same case (e.g. ``paid_amount``)."""

    path: str


@dataclass(frozen=True, slots=True)
class ThresholdRef:
    """An operand that names an entry of the policy's ``[thresholds]`` table."""

    name: str


IntOperand = int | FieldRef | ThresholdRef
SpanOperand = timedelta | ThresholdRef
Scalar = str | int | bool


def _int_operand(operand: IntOperand, case: RefundCase, thresholds: Thresholds) -> int | None:
    if isinstance(operand, FieldRef):
        value = field_value(case, operand.path)
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(operand, ThresholdRef):
        resolved = thresholds[operand.name]
        return resolved if isinstance(resolved, int) else None
    return operand


def _describe_int(operand: IntOperand, case: RefundCase, thresholds: Thresholds) -> str:
    value = render_value(_int_operand(operand, case, thresholds))
    if isinstance(operand, FieldRef):
        return f"{operand.path} ({value})"
    if isinstance(operand, ThresholdRef):
        return f"{operand.name} ({value})"
    return value


def _span(operand: SpanOperand, thresholds: Thresholds) -> timedelta:
    if isinstance(operand, ThresholdRef):
        resolved = thresholds[operand.name]
        assert isinstance(resolved, timedelta), "the loader checks threshold kinds"
        return resolved
    return operand


def _describe_span(operand: SpanOperand, thresholds: Thresholds) -> str:
    text = format_duration(_span(operand, thresholds))
    if isinstance(operand, ThresholdRef):
        return f"{operand.name} ({text})"
    return text


@dataclass(frozen=True, slots=True)
class Equals:
    """``field = value`` (or ``ne``)."""

    field: str
    value: Scalar
    negate: bool = False

    @property
    def op(self) -> str:
        return "ne" if self.negate else "eq"

    def check(
        self, case: RefundCase, now: datetime, thresholds: Thresholds, rule_id: str
    ) -> ConditionChecked:
        actual = field_value(case, self.field)
        same = actual is not None and type(actual) is type(self.value) and actual == self.value
        return ConditionChecked(
            rule_id=rule_id,
            field=self.field,
            op=self.op,
            expected=render_value(self.value),
            actual=render_value(actual),
            passed=same != self.negate,
        )


@dataclass(frozen=True, slots=True)
class OneOf:
    """``field`` is one of the listed values (or none of them with ``not_in``)."""

    field: str
    values: tuple[Scalar, ...]
    negate: bool = False

    @property
    def op(self) -> str:
        return "not_in" if self.negate else "in"

    def check(
        self, case: RefundCase, now: datetime, thresholds: Thresholds, rule_id: str
    ) -> ConditionChecked:
        actual = field_value(case, self.field)
        found = actual is not None and any(
            type(actual) is type(v) and actual == v for v in self.values
        )
        return ConditionChecked(
            rule_id=rule_id,
            field=self.field,
            op=self.op,
            expected="[" + ", ".join(render_value(v) for v in self.values) + "]",
            actual=render_value(actual),
            passed=found != self.negate,
        )


CompareOp = Literal["lt", "le", "gt", "ge", "eq", "ne"]


@dataclass(frozen=True, slots=True)
class Compare:
    """A numeric comparison against a literal, a threshold or another field.

    ``eq``/``ne`` land here when their operand is a reference (``{ field = "paid_amount" }``).
    """

    field: str
    op: CompareOp
    operand: IntOperand

    def check(
        self, case: RefundCase, now: datetime, thresholds: Thresholds, rule_id: str
    ) -> ConditionChecked:
        actual = field_value(case, self.field)
        bound = _int_operand(self.operand, case, thresholds)
        passed = False
        if isinstance(actual, int) and not isinstance(actual, bool) and bound is not None:
            passed = {
                "lt": actual < bound,
                "le": actual <= bound,
                "gt": actual > bound,
                "ge": actual >= bound,
                "eq": actual == bound,
                "ne": actual != bound,
            }[self.op]
        return ConditionChecked(
            rule_id=rule_id,
            field=self.field,
            op=self.op,
            expected=_describe_int(self.operand, case, thresholds),
            actual=render_value(actual),
            passed=passed,
        )


@dataclass(frozen=True, slots=True)
class Presence:
    """The field has a value (``present = true``) or is null (``present = false``)."""

    field: str
    present: bool

    @property
    def op(self) -> str:
        return "present" if self.present else "absent"

    def check(
        self, case: RefundCase, now: datetime, thresholds: Thresholds, rule_id: str
    ) -> ConditionChecked:
        actual = field_value(case, self.field)
        return ConditionChecked(
            rule_id=rule_id,
            field=self.field,
            op=self.op,
            expected=render_value(self.present),
            actual=render_value(actual),
            passed=(actual is not None) == self.present,
        )


RecencyOp = Literal["within", "older_than"]


@dataclass(frozen=True, slots=True)
class Recency:
    """A timestamp relative to now: ``within`` D (either side, inclusive) or ``older_than`` D."""

    field: str
    op: RecencyOp
    span: SpanOperand

    def check(
        self, case: RefundCase, now: datetime, thresholds: Thresholds, rule_id: str
    ) -> ConditionChecked:
        actual = field_value(case, self.field)
        limit = _span(self.span, thresholds)
        passed = False
        age: int | None = None
        if isinstance(actual, datetime):
            elapsed = now - actual
            age = int(elapsed.total_seconds())
            passed = abs(elapsed) <= limit if self.op == "within" else elapsed > limit
        return ConditionChecked(
            rule_id=rule_id,
            field=self.field,
            op=self.op,
            expected=_describe_span(self.span, thresholds),
            actual=render_value(actual),
            passed=passed,
            age_seconds=age,
        )


@dataclass(frozen=True, slots=True)
class HasEvidence:
    """The buyer sent evidence of at least one of the listed kinds."""

    field: str
    kinds: tuple[str, ...]

    @property
    def op(self) -> str:
        return "has_any"

    def check(
        self, case: RefundCase, now: datetime, thresholds: Thresholds, rule_id: str
    ) -> ConditionChecked:
        sent = {str(e.kind) for e in case.evidence}
        return ConditionChecked(
            rule_id=rule_id,
            field=self.field,
            op=self.op,
            expected="[" + ", ".join(self.kinds) + "]",
            actual=render_value(sorted(sent)),
            passed=bool(sent & set(self.kinds)),
        )


Condition = Equals | OneOf | Compare | Presence | Recency | HasEvidence
