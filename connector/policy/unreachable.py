"""Unreachable rules: rules that can never match because an earlier rule always matches first.

(Not to be confused with shadow mode, ``connector.policy.shadow``, where a candidate policy
decides beside the live one.) Rule B is unreachable, pre-empted by an earlier rule A, when every
case that satisfies B's conditions also satisfies A's: each of A's conditions is implied by B's
conditions on the same field. Implication is decided per field from the values a condition
allows (closed sets, integer ranges with thresholds resolved, evidence kinds, time spans);
anything subtler counts only when written identically. The check is sound (a warning is always
true) but not complete.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from connector.policy.conditions import (
    Compare,
    Condition,
    Equals,
    FieldRef,
    HasEvidence,
    OneOf,
    Presence,
    Recency,
    ThresholdRef,
    ThresholdValue,
)
from connector.policy.fields import CASE_FIELDS
from connector.policy.model import Policy, Rule

_NULL = object()


@dataclass(frozen=True, slots=True)
class UnreachableRule:
    """``rule_id`` can never match: ``shadowed_by`` (earlier) matches every case it would."""

    rule_id: str
    position: int
    shadowed_by: str
    shadowed_by_position: int

    def __str__(self) -> str:
        return (
            f"rule {self.rule_id!r} (#{self.position}) can never match: rule "
            f"{self.shadowed_by!r} (#{self.shadowed_by_position}) matches every case it would"
        )


def _domain(path: str) -> set[object] | None:
    """All values a closed-set field can hold (null included when it may be null)."""
    spec = CASE_FIELDS[path]
    values: set[object]
    if spec.kind == "enum":
        values = set(spec.values)
    elif spec.kind == "bool":
        values = {True, False}
    else:
        return None
    if spec.nullable:
        values.add(_NULL)
    return values


def _allowed(conditions: Sequence[Condition], path: str) -> set[object] | None:
    """Values of a closed-set field that satisfy every condition on it (None: not closed)."""
    domain = _domain(path)
    if domain is None:
        return None
    allowed = set(domain)
    for c in conditions:
        if isinstance(c, Equals):
            hit: set[object] = {c.value}
            allowed &= (domain - hit) if c.negate else hit
        elif isinstance(c, OneOf):
            hits: set[object] = set(c.values)
            allowed &= (domain - hits) if c.negate else hits
        elif isinstance(c, Presence):
            allowed &= (domain - {_NULL}) if c.present else {_NULL}
        else:
            return None
    return allowed


def _bound(operand: object, thresholds: Mapping[str, ThresholdValue]) -> int | None:
    if isinstance(operand, ThresholdRef):
        value = thresholds[operand.name]
        return value if isinstance(value, int) else None
    if isinstance(operand, int):
        return operand
    return None


def _interval(
    conditions: Sequence[Condition], thresholds: Mapping[str, ThresholdValue]
) -> tuple[float, float] | None:
    """The integer range every literal/threshold comparison allows (None: something else)."""
    low, high = float("-inf"), float("inf")
    for c in conditions:
        if isinstance(c, Equals) and not c.negate and isinstance(c.value, int):
            low, high = max(low, c.value), min(high, c.value)
            continue
        if not isinstance(c, Compare) or c.op == "ne":
            return None
        bound = _bound(c.operand, thresholds)
        if bound is None:
            return None
        if c.op == "lt":
            high = min(high, bound - 1)
        elif c.op == "le":
            high = min(high, bound)
        elif c.op == "gt":
            low = max(low, bound + 1)
        elif c.op == "ge":
            low = max(low, bound)
        else:  # eq
            low, high = max(low, bound), min(high, bound)
    return low, high


def _span(c: Recency, thresholds: Mapping[str, ThresholdValue]) -> timedelta:
    value = c.span if isinstance(c.span, timedelta) else thresholds[c.span.name]
    assert isinstance(value, timedelta)
    return value


def _needs_value(c: Condition) -> bool:
    """A condition that a null field can never satisfy."""
    if isinstance(c, Presence):
        return c.present
    if isinstance(c, Equals | OneOf):
        return not c.negate
    return isinstance(c, Compare | Recency | HasEvidence)


def _implies(
    theirs: Sequence[Condition], mine: Condition, thresholds: Mapping[str, ThresholdValue]
) -> bool:
    """Do the later rule's conditions on one field (``theirs``) guarantee ``mine``?"""
    if mine in theirs:
        return True
    if not theirs:
        return False
    path = mine.field
    allowed_theirs = _allowed(theirs, path)
    if allowed_theirs is not None:
        allowed_mine = _allowed([mine], path)
        return allowed_mine is not None and allowed_theirs <= allowed_mine
    if CASE_FIELDS[path].kind == "int" and not any(
        isinstance(c.operand, FieldRef) for c in (*theirs, mine) if isinstance(c, Compare)
    ):
        span_theirs, span_mine = _interval(theirs, thresholds), _interval([mine], thresholds)
        if span_theirs is not None and span_mine is not None:
            empty = span_theirs[0] > span_theirs[1]
            return empty or (span_mine[0] <= span_theirs[0] and span_theirs[1] <= span_mine[1])
    if isinstance(mine, HasEvidence):
        return any(isinstance(c, HasEvidence) and set(c.kinds) <= set(mine.kinds) for c in theirs)
    if isinstance(mine, Recency):
        for c in theirs:
            if isinstance(c, Recency) and c.op == mine.op:
                if mine.op == "within" and _span(c, thresholds) <= _span(mine, thresholds):
                    return True
                if mine.op == "older_than" and _span(c, thresholds) >= _span(mine, thresholds):
                    return True
    if isinstance(mine, Presence):
        if not mine.present:
            return any(isinstance(c, Presence) and not c.present for c in theirs)
        return any(_needs_value(c) for c in theirs)
    return False


def _by_field(rule: Rule) -> dict[str, list[Condition]]:
    grouped: dict[str, list[Condition]] = {}
    for c in rule.conditions:
        grouped.setdefault(c.field, []).append(c)
    return grouped


def _known_about(path: str, grouped: Mapping[str, list[Condition]]) -> list[Condition]:
    """What the later rule says about ``path``, including what its parents and children imply:
    a null parent makes the field null; a child that needs a value makes the field present."""
    known = list(grouped.get(path, []))
    parts = path.split(".")
    for depth in range(1, len(parts)):
        parent = grouped.get(".".join(parts[:depth]), [])
        if any(isinstance(c, Presence) and not c.present for c in parent):
            known.append(Presence(path, False))
    children = [c for p, cs in grouped.items() if p.startswith(path + ".") for c in cs]
    if any(_needs_value(c) for c in children):
        known.append(Presence(path, True))
    return known


def shadows(earlier: Rule, later: Rule, thresholds: Mapping[str, ThresholdValue]) -> bool:
    """True when every case matching ``later`` matches ``earlier`` too."""
    theirs = _by_field(later)
    return all(_implies(_known_about(c.field, theirs), c, thresholds) for c in earlier.conditions)


def find_unreachable_rules(policy: Policy) -> list[UnreachableRule]:
    """Each rule that some earlier rule always pre-empts (reported once, first culprit named)."""
    warnings: list[UnreachableRule] = []
    for index, later in enumerate(policy.rules):
        for earlier in policy.rules[:index]:
            if shadows(earlier, later, policy.thresholds):
                warnings.append(
                    UnreachableRule(later.id, later.position, earlier.id, earlier.position)
                )
                break
    return warnings
