"""The fault plan: rules that make the next matching gateway calls fail in a chosen way.

Shapes are the ones in docs/mocks.md (``FaultRule`` / ``Fault``). The plan only decides *which*
fault hits a call; each fake turns the fault into its own wire behaviour.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = frozenset(
    {
        "platform_error",
        "http_status",
        "latency",
        "hang",
        "reset",
        "malformed_body",
        "malformed_item",
        "poison_item",
        "apply_then_drop",
        "change_before",
    }
)
MATCH_KEYS = frozenset({"method", "shop"})
BROKEN = "##broken##"
"""What a ``malformed_item`` fault puts in the broken field."""
POISONS = frozenset({"invalid_utf8", "deep_nesting"})
"""What a ``poison_item`` fault puts in one field of one listed case, on every listing that
holds it: bytes that are not UTF-8, or JSON arrays nested ``depth`` deep (200,000 by default).
Either makes the whole answer unreadable as JSON, which is the point."""
POISON_MARK = "\u2063poison-item\u2063"
"""Set in the field first, then swapped for the raw poison bytes in the encoded answer."""


@dataclass(frozen=True)
class Fault:
    """One fault: its kind and the kind's parameters, as sent (validated on parse)."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def number(self, name: str, default: float) -> float:
        value = self.params.get(name, default)
        return float(value)

    def text(self, name: str, default: str = "") -> str:
        value = self.params.get(name, default)
        return "" if value is None else str(value)


@dataclass
class FaultRule:
    match: dict[str, str]
    remaining: int  # -1 = forever
    fault: Fault

    def matches(self, method: str | None, shop: str | None) -> bool:
        wanted_method = self.match.get("method")
        wanted_shop = self.match.get("shop")
        if wanted_method is not None and wanted_method != method:
            return False
        return wanted_shop is None or wanted_shop == shop


def _number(raw: dict[str, Any], name: str, where: str, *, minimum: float = 0) -> None:
    if name in raw:
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            msg = f"{where}.{name} must be a number >= {minimum}, got {value!r}"
            raise ValueError(msg)


def parse_fault(raw: object, where: str = "fault") -> Fault:
    if not isinstance(raw, dict):
        msg = f"{where} must be an object with a 'kind'"
        raise ValueError(msg)
    kind = raw.get("kind")
    if kind not in FAULT_KINDS:
        msg = f"{where}.kind must be one of {sorted(FAULT_KINDS)}, got {kind!r}"
        raise ValueError(msg)
    params = {k: v for k, v in raw.items() if k != "kind"}
    for name in ("ban_s", "retry_after_s", "seconds"):
        _number(params, name, where)
    if kind == "http_status":
        status = params.get("status", 502)
        if not isinstance(status, int) or not 400 <= status <= 599:
            msg = f"{where}.status must be an HTTP error status 400-599, got {status!r}"
            raise ValueError(msg)
    if kind == "platform_error" and "code" not in params:
        msg = f"{where}.code is required for a platform_error"
        raise ValueError(msg)
    if kind in ("malformed_item", "poison_item") and not isinstance(params.get("field", ""), str):
        msg = f"{where}.field must be a field name"
        raise ValueError(msg)
    if kind == "poison_item":
        if not isinstance(params.get("case"), str) or not params["case"]:
            msg = f"{where}.case must name the case whose listed item is poisoned"
            raise ValueError(msg)
        if params.get("poison", "invalid_utf8") not in POISONS:
            msg = f"{where}.poison must be one of {sorted(POISONS)}, got {params.get('poison')!r}"
            raise ValueError(msg)
        _number(params, "depth", where, minimum=1)
    return Fault(kind=str(kind), params=params)


def parse_rule(raw: object, where: str = "rules[0]") -> FaultRule:
    if not isinstance(raw, dict):
        msg = f"{where} must be an object"
        raise ValueError(msg)
    unknown = set(raw) - {"match", "count", "fault"}
    if unknown:
        msg = f"{where} has unknown keys {sorted(unknown)}"
        raise ValueError(msg)
    match = raw.get("match") or {}
    if not isinstance(match, dict) or set(match) - MATCH_KEYS:
        msg = f"{where}.match may only hold {sorted(MATCH_KEYS)}"
        raise ValueError(msg)
    count = raw.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or (count < 1 and count != -1):
        msg = f"{where}.count must be a positive integer or -1 (forever), got {count!r}"
        raise ValueError(msg)
    fault = parse_fault(raw.get("fault"), f"{where}.fault")
    return FaultRule(match={k: str(v) for k, v in match.items()}, remaining=count, fault=fault)


class FaultPlan:
    """Ordered rules; the first rule matching a call fires and uses up one of its count."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, raw_rules: object) -> int:
        if not isinstance(raw_rules, list):
            msg = "rules must be a list of FaultRule objects"
            raise ValueError(msg)
        parsed = [parse_rule(r, f"rules[{i}]") for i, r in enumerate(raw_rules)]
        with self._lock:
            self._rules.extend(parsed)
            return len(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str | None, shop: str | None) -> Fault | None:
        with self._lock:
            if not self._rules:
                return None
            for rule in self._rules:
                if rule.matches(method, shop):
                    if rule.remaining > 0:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            self._rules.remove(rule)
                    return rule.fault
            return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)


def poisoned_body(text: str, fault: Fault) -> bytes:
    """The encoded answer with the ``POISON_MARK`` string swapped for the fault's poison."""
    if fault.text("poison", "invalid_utf8") == "deep_nesting":
        depth = int(fault.number("depth", 200_000))
        poison = b"[" * depth + b"]" * depth
    else:
        poison = b'"\xff\xfe not UTF-8 \xc3\x28"'
    mark = json.dumps(POISON_MARK, ensure_ascii=False).encode("utf-8")
    return text.encode("utf-8").replace(mark, poison)
