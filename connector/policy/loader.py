"""Reading a policy TOML file into a ``Policy``, refusing anything that is not exactly right.

Every problem is collected (not just the first) and raised together as one ``PolicyError`` that
names the file; each problem names the rule (id and position) and the field. The language itself
is documented in docs/policy.md.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from connector.errors import PolicyError
from connector.policy.conditions import (
    Compare,
    CompareOp,
    Condition,
    Equals,
    FieldRef,
    HasEvidence,
    IntOperand,
    OneOf,
    Presence,
    Recency,
    RecencyOp,
    Scalar,
    SpanOperand,
    ThresholdRef,
    ThresholdValue,
    parse_duration,
)
from connector.policy.decision import Action, AttachKind, OnDeadline
from connector.policy.fields import CASE_FIELDS, EVIDENCE_KINDS, FieldSpec
from connector.policy.limits import parse_breaker, parse_caps
from connector.policy.model import GUARD_ESCALATE, GUARD_FALLBACK, Policy, RefundParam, Rule

DEFAULT_POLICY_SOURCE = "connector/policy/default.toml (bundled default policy)"

TOP_LEVEL_KEYS = ("policy", "thresholds", "rules", "caps", "breaker")
POLICY_META_KEYS = ("name", "description")
RULE_KEYS = (
    "id",
    "description",
    "description_zh",
    "when",
    "action",
    "refund_amount",
    "warehouse_void",
    "carrier_claim",
    "fallback",
    "return_shipping_paid_by",
    "evidence_kinds",
    "escalate",
    "on_deadline",
)
OPERATORS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "lt",
    "le",
    "gt",
    "ge",
    "present",
    "within",
    "older_than",
    "has_any",
)

_APPROVING = frozenset(
    {Action.approve_refund, Action.approve_return, Action.confirm_return_and_refund}
)
PARAMETER_ACTIONS: Mapping[str, frozenset[Action]] = {
    "refund_amount": _APPROVING,
    "warehouse_void": frozenset({Action.approve_refund}),
    "carrier_claim": frozenset({Action.approve_refund}),
    "fallback": frozenset({Action.ask_buyer_to_modify}),
    "return_shipping_paid_by": frozenset({Action.approve_return}),
    "evidence_kinds": frozenset({Action.reject}),
}
"""Which actions use each parameter; a parameter no action (or fallback) of the rule uses is an
error, so a typo'd intent never passes silently."""

REQUIRED_PARAMETERS: Mapping[Action, tuple[str, ...]] = {
    Action.ask_buyer_to_modify: ("fallback",),
    Action.approve_return: ("return_shipping_paid_by",),
    Action.reject: ("evidence_kinds",),
}
FALLBACK_ACTIONS = (Action.reject, Action.approve_refund, Action.approve_return, Action.human)

_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


class _Problems:
    """Collects every problem so one run of ``policy check`` shows them all."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, field: str, message: str) -> None:
        self.items.append(f"{where}, field {field!r}: {message}")


class _RuleParser:
    """Compiles one ``[[rules]]`` table; problems are reported under the rule's id and field."""

    def __init__(
        self,
        raw: Mapping[str, Any],
        position: int,
        thresholds: Mapping[str, ThresholdValue],
        problems: _Problems,
    ) -> None:
        self.raw = raw
        self.position = position
        self.thresholds = thresholds
        self.problems = problems
        self.used_thresholds: set[str] = set()
        rule_id = raw.get("id")
        self.where = (
            f"rule {rule_id!r} (#{position})"
            if isinstance(rule_id, str) and rule_id
            else f"rule #{position}"
        )

    def fail(self, field: str, message: str) -> None:
        self.problems.add(self.where, field, message)

    # ---- the rule's own keys -----------------------------------------------------------

    def parse(self) -> Rule | None:
        before = len(self.problems.items)
        raw = self.raw
        for key in raw:
            if key not in RULE_KEYS:
                self.fail(key, "unknown field" + _suggest(key, RULE_KEYS))
        rule_id = self._text("id", required=True)
        if rule_id and not _RULE_ID.match(rule_id):
            self.fail("id", "use letters, digits and - _ . : only (no spaces)")
        description = self._text("description", required=True)
        description_zh = self._text("description_zh", required=False)
        action = self._action("action", raw.get("action"), required=True)
        conditions = self._when(raw.get("when", {}))
        params = self._parameters(action)
        if len(self.problems.items) > before or action is None:
            return None
        refund, fallback, paid_by, kinds, on_deadline = params
        return Rule(
            id=rule_id,
            position=self.position,
            description=description,
            description_zh=description_zh,
            action=action,
            conditions=tuple(conditions),
            refund_amount=refund,
            warehouse_void=self._flag("warehouse_void"),
            carrier_claim=self._flag("carrier_claim"),
            fallback=fallback,
            return_shipping_paid_by=paid_by,
            evidence_kinds=kinds,
            escalate=self._flag("escalate"),
            on_deadline=on_deadline,
        )

    def _text(self, key: str, *, required: bool) -> str:
        value = self.raw.get(key)
        if value is None:
            if required:
                self.fail(key, "is required but missing")
            return ""
        if not isinstance(value, str):
            self.fail(key, f"must be a string, not {_type_name(value)}")
            return ""
        if required and not value.strip():
            self.fail(key, "must not be empty")
        return value

    def _flag(self, key: str) -> bool:
        value = self.raw.get(key, False)
        return value if isinstance(value, bool) else False

    def _action(self, key: str, value: Any, *, required: bool) -> Action | None:
        if value is None:
            if required:
                self.fail(key, "is required but missing")
            return None
        if not isinstance(value, str):
            self.fail(key, f"must be a string naming an action, not {_type_name(value)}")
            return None
        try:
            return Action(value)
        except ValueError:
            names = ", ".join(a.value for a in Action)
            self.fail(
                key,
                f"unknown action {value!r}{_suggest(value, [a.value for a in Action])};"
                f" actions are: {names}",
            )
            return None

    def _parameters(
        self, action: Action | None
    ) -> tuple[
        RefundParam | None,
        Action | None,
        Literal["buyer", "seller"] | None,
        tuple[AttachKind, ...],
        OnDeadline,
    ]:
        raw = self.raw
        fallback: Action | None = None
        if "fallback" in raw:
            fallback = self._action("fallback", raw["fallback"], required=False)
            if fallback is not None and fallback not in FALLBACK_ACTIONS:
                allowed = ", ".join(a.value for a in FALLBACK_ACTIONS)
                self.fail(
                    "fallback", f"{fallback.value!r} cannot be a fallback; use one of {allowed}"
                )
        # A fallback only counts when the action has one (ask_buyer_to_modify).
        uses_fallback = action is Action.ask_buyer_to_modify
        effective = {a for a in (action, fallback if uses_fallback else None) if a is not None}
        if action is not None:
            for name, users in PARAMETER_ACTIONS.items():
                if name in raw and not effective & users:
                    used_by = ", ".join(sorted(a.value for a in users))
                    self.fail(name, f"is not used by action {action.value!r} (only by {used_by})")
            for needing in sorted(effective):
                for name in REQUIRED_PARAMETERS.get(needing, ()):
                    if name not in raw:
                        self.fail(name, f"is required for action {needing.value!r} but missing")
        for name in ("warehouse_void", "carrier_claim", "escalate"):
            if name in raw and not isinstance(raw[name], bool):
                self.fail(name, f"must be true or false, not {_type_name(raw[name])}")

        refund: RefundParam | None = None
        if "refund_amount" in raw:
            value = raw["refund_amount"]
            if value == "requested":
                refund = "requested"
            elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
                refund = value
            else:
                self.fail(
                    "refund_amount",
                    f'must be "requested" or a whole number of fen above 0, not {value!r}',
                )
        elif effective & _APPROVING:
            refund = "requested"

        paid_by: Literal["buyer", "seller"] | None = None
        if "return_shipping_paid_by" in raw:
            value = raw["return_shipping_paid_by"]
            if value in ("buyer", "seller"):
                paid_by = cast(Literal["buyer", "seller"], value)
            else:
                self.fail("return_shipping_paid_by", f'must be "buyer" or "seller", not {value!r}')

        kinds: list[AttachKind] = []
        if "evidence_kinds" in raw:
            value = raw["evidence_kinds"]
            attach_names = [k.value for k in AttachKind]
            if not isinstance(value, list) or not value:
                self.fail(
                    "evidence_kinds", f"must be a non-empty array of: {', '.join(attach_names)}"
                )
            else:
                for item in value:
                    if isinstance(item, str) and item in attach_names:
                        kinds.append(AttachKind(item))
                    else:
                        self.fail(
                            "evidence_kinds",
                            f"unknown evidence kind {item!r}{_suggest(str(item), attach_names)};"
                            f" kinds are: {', '.join(attach_names)}",
                        )

        on_deadline = OnDeadline.platform_outcome
        if "on_deadline" in raw:
            value = raw["on_deadline"]
            allowed_modes = [m.value for m in OnDeadline]
            if isinstance(value, str) and value in allowed_modes:
                on_deadline = OnDeadline(value)
            else:
                self.fail(
                    "on_deadline", f"must be one of {', '.join(allowed_modes)}, not {value!r}"
                )
        return refund, fallback, paid_by, tuple(dict.fromkeys(kinds)), on_deadline

    # ---- conditions -------------------------------------------------------------------

    def _when(self, when: Any) -> list[Condition]:
        if not isinstance(when, dict):
            self.fail("when", f"must be a table of conditions, not {_type_name(when)}")
            return []
        conditions: list[Condition] = []
        self._walk_when(when, "", conditions)
        return conditions

    def _walk_when(self, table: Mapping[str, Any], prefix: str, out: list[Condition]) -> None:
        for key, value in table.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict):
                ops = [k for k in value if k in OPERATORS]
                if not value:
                    self.fail(f"when.{path}", "empty condition table")
                elif len(ops) == len(value):
                    for op, operand in value.items():
                        out.extend(self._condition(path, op, operand))
                elif not ops:
                    self._walk_when(value, f"{path}.", out)
                else:
                    others = ", ".join(k for k in value if k not in OPERATORS)
                    self.fail(
                        f"when.{path}",
                        f"mixes operators ({', '.join(ops)}) with other keys ({others}); "
                        f"unknown operator or sub-field? operators are: {', '.join(OPERATORS)}",
                    )
            else:
                out.extend(self._condition(path, "eq", value))

    def _spec(self, path: str) -> FieldSpec | None:
        spec = CASE_FIELDS.get(path)
        if spec is None:
            self.fail(f"when.{path}", "unknown case field" + _suggest(path, CASE_FIELDS))
        return spec

    def _condition(self, path: str, op: str, operand: Any) -> list[Condition]:
        spec = self._spec(path)
        if spec is None:
            return []
        where = f"when.{path}" if op == "eq" else f"when.{path}.{op}"
        if op in ("eq", "ne") and isinstance(operand, dict) and spec.kind == "int":
            bound = self._int_operand(operand, where)
            return [] if bound is None else [Compare(path, cast(CompareOp, op), bound)]
        if op in ("eq", "ne"):
            value = self._scalar(spec, operand, where)
            return [] if value is None else [Equals(path, value, negate=op == "ne")]
        if op in ("in", "not_in"):
            if not isinstance(operand, list) or not operand:
                self.fail(where, f"must be a non-empty array, not {_type_name(operand)}")
                return []
            values = [self._scalar(spec, item, where) for item in operand]
            if any(v is None for v in values):
                return []
            return [OneOf(path, tuple(v for v in values if v is not None), negate=op == "not_in")]
        if op in ("lt", "le", "gt", "ge"):
            if spec.kind != "int":
                self.fail(where, f"{spec.path} is not a number field (it is {spec.kind})")
                return []
            bound = self._int_operand(operand, where)
            return [] if bound is None else [Compare(path, cast(CompareOp, op), bound)]
        if op == "present":
            if not isinstance(operand, bool):
                self.fail(where, f"must be true or false, not {_type_name(operand)}")
                return []
            return [Presence(path, operand)]
        if op in ("within", "older_than"):
            if spec.kind != "datetime":
                self.fail(where, f"{spec.path} is not a date-time field (it is {spec.kind})")
                return []
            span = self._span_operand(operand, where)
            return [] if span is None else [Recency(path, cast(RecencyOp, op), span)]
        # has_any
        if spec.kind != "evidence":
            self.fail(where, "has_any applies only to 'evidence'")
            return []
        if not isinstance(operand, list) or not operand:
            self.fail(where, f"must be a non-empty array of: {', '.join(EVIDENCE_KINDS)}")
            return []
        bad = [k for k in operand if k not in EVIDENCE_KINDS]
        if bad:
            self.fail(
                where, f"unknown evidence kind {bad[0]!r}; kinds are: {', '.join(EVIDENCE_KINDS)}"
            )
            return []
        return [HasEvidence(path, tuple(dict.fromkeys(str(k) for k in operand)))]

    def _scalar(self, spec: FieldSpec, value: Any, where: str) -> Scalar | None:
        kind = spec.kind
        if kind == "enum":
            if isinstance(value, str) and value in spec.values:
                return value
            self.fail(
                where,
                f"{value!r} is not a value of {spec.path}{_suggest(str(value), spec.values)};"
                f" values are: {', '.join(spec.values)}",
            )
            return None
        if kind == "bool":
            if isinstance(value, bool):
                return value
            self.fail(where, f"must be true or false, not {_type_name(value)}")
            return None
        if kind == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            self.fail(where, f"must be a whole number, not {_type_name(value)}")
            return None
        if kind == "str":
            if isinstance(value, str):
                return value
            self.fail(where, f"must be a string, not {_type_name(value)}")
            return None
        hint = {
            "datetime": "use within / older_than / present",
            "evidence": "use has_any",
            "object": "use present, or test one of its sub-fields",
        }[kind]
        self.fail(where, f"{spec.path} cannot be compared to a value; {hint}")
        return None

    def _reference(self, operand: Mapping[str, Any], where: str) -> FieldRef | ThresholdRef | None:
        if set(operand) == {"threshold"} and isinstance(operand["threshold"], str):
            name = operand["threshold"]
            if name not in self.thresholds:
                self.fail(
                    f"{where}.threshold",
                    f"unknown threshold {name!r}{_suggest(name, self.thresholds)};"
                    f" defined in [thresholds]: {', '.join(sorted(self.thresholds)) or 'none'}",
                )
                return None
            self.used_thresholds.add(name)
            return ThresholdRef(name)
        if set(operand) == {"field"} and isinstance(operand["field"], str):
            path = operand["field"]
            if path not in CASE_FIELDS:
                self.fail(f"{where}.field", "unknown case field" + _suggest(path, CASE_FIELDS))
                return None
            return FieldRef(path)
        self.fail(where, 'a reference is { threshold = "name" } or { field = "path" }')
        return None

    def _int_operand(self, operand: Any, where: str) -> IntOperand | None:
        if isinstance(operand, int) and not isinstance(operand, bool):
            return operand
        if not isinstance(operand, dict):
            self.fail(
                where,
                f"must be a whole number, {{ threshold = ... }} or {{ field = ... }},"
                f" not {_type_name(operand)}",
            )
            return None
        ref = self._reference(operand, where)
        if isinstance(ref, ThresholdRef) and not isinstance(self.thresholds[ref.name], int):
            self.fail(f"{where}.threshold", f"threshold {ref.name!r} is a duration, not a number")
            return None
        if isinstance(ref, FieldRef) and CASE_FIELDS[ref.path].kind != "int":
            self.fail(f"{where}.field", f"{ref.path} is not a number field")
            return None
        return ref

    def _span_operand(self, operand: Any, where: str) -> SpanOperand | None:
        if isinstance(operand, str):
            try:
                return parse_duration(operand)
            except ValueError as exc:
                self.fail(where, str(exc))
                return None
        if not isinstance(operand, dict):
            self.fail(where, 'must be a duration like "168h" or { threshold = ... }')
            return None
        ref = self._reference(operand, where)
        if isinstance(ref, FieldRef):
            self.fail(where, "a time span cannot be a case field; use a duration or a threshold")
            return None
        if isinstance(ref, ThresholdRef) and not isinstance(self.thresholds[ref.name], timedelta):
            self.fail(f"{where}.threshold", f"threshold {ref.name!r} is a number, not a duration")
            return None
        return ref


def _thresholds(raw: Any, problems: _Problems) -> dict[str, ThresholdValue]:
    where = "[thresholds]"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.add(where, "thresholds", f"must be a table, not {_type_name(raw)}")
        return {}
    values: dict[str, ThresholdValue] = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | str):
            problems.add(
                where, name, f"must be a whole number or a duration string, not {_type_name(value)}"
            )
        elif isinstance(value, str):
            try:
                values[name] = parse_duration(value)
            except ValueError as exc:
                problems.add(where, name, str(exc))
        else:
            values[name] = value
    for name in (GUARD_ESCALATE, GUARD_FALLBACK):
        if name not in raw:
            problems.add(where, name, 'is required (the deadline guard needs it), e.g. "60m"')
        elif name in values and not isinstance(values[name], timedelta):
            problems.add(where, name, 'must be a duration string such as "60m"')
    escalate, fallback = values.get(GUARD_ESCALATE), values.get(GUARD_FALLBACK)
    if isinstance(escalate, timedelta) and isinstance(fallback, timedelta) and fallback > escalate:
        problems.add(where, GUARD_FALLBACK, f"must not be longer than {GUARD_ESCALATE}")
    return values


def content_version(document: Mapping[str, Any]) -> str:
    """A hash of what the policy says (comments and layout do not change it)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def parse_policy(text: str, source: str) -> Policy:
    """Parse policy TOML text; ``source`` names the file in every error."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, [f"not valid TOML: {exc}"]) from exc
    problems = _Problems()
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            problems.add("top level", key, "unknown table" + _suggest(key, TOP_LEVEL_KEYS))
    meta = document.get("policy", {})
    name, description = Path(source).stem, ""
    if not isinstance(meta, dict):
        problems.add("[policy]", "policy", f"must be a table, not {_type_name(meta)}")
        meta = {}
    for key, value in meta.items():
        if key not in POLICY_META_KEYS:
            problems.add("[policy]", key, "unknown field" + _suggest(key, POLICY_META_KEYS))
        elif not isinstance(value, str):
            problems.add("[policy]", key, f"must be a string, not {_type_name(value)}")
    name = meta.get("name", name) if isinstance(meta.get("name", name), str) else name
    description = meta.get("description", "") if isinstance(meta.get("description"), str) else ""

    thresholds = _thresholds(document.get("thresholds"), problems)
    raw_rules = document.get("rules")
    rules: list[Rule] = []
    used: set[str] = {GUARD_ESCALATE, GUARD_FALLBACK}
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.add("top level", "rules", "at least one [[rules]] table is required")
        raw_rules = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(raw_rules, start=1):
        if not isinstance(raw, dict):
            problems.add(f"rule #{position}", "rules", "must be a table")
            continue
        parser = _RuleParser(raw, position, thresholds, problems)
        rule_id = raw.get("id")
        if isinstance(rule_id, str) and rule_id in seen:
            parser.fail("id", f"duplicate id; rule #{seen[rule_id]} already uses it")
        elif isinstance(rule_id, str):
            seen[rule_id] = position
        rule = parser.parse()
        used |= parser.used_thresholds
        if rule is not None:
            rules.append(rule)
    caps = parse_caps(document.get("caps"), problems.add)
    breaker = parse_breaker(document.get("breaker"), problems.add)
    if problems.items:
        raise PolicyError(source, problems.items)
    return Policy(
        name=name,
        source=source,
        version=content_version(document),
        thresholds=dict(thresholds),
        rules=tuple(rules),
        description=description,
        unused_thresholds=tuple(sorted(set(thresholds) - used)),
        text=text,
        caps=caps,
        breaker=breaker,
    )


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy file, or the bundled default policy when ``path`` is None."""
    if path is None:
        return load_default_policy()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(file), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(str(file), [f"the file is not UTF-8 text: {exc}"]) from exc
    return parse_policy(text, str(file))


def default_policy_text() -> str:
    return resources.files("connector.policy").joinpath("default.toml").read_text("utf-8")


@lru_cache(maxsize=1)
def load_default_policy() -> Policy:
    """The default policy shipped in the package (the casebook's 11 rules)."""
    return parse_policy(default_policy_text(), DEFAULT_POLICY_SOURCE)
