"""One renderer of audit entries and decision traces for every reader: the CLI (`audit show`,
`audit tail`, `queue show`) and the web console.

A trace step is read back into the policy's own step model and told in its own words, English
or Chinese (``RuleMatched.en()`` …); a step that no longer fits the model is shown as stored,
never dropped. Money reads in yuan and times in Beijing time (``utc`` to switch), through
``connector/formatting.py``. Guarded by tests/store/test_audit_cli.py and, for the desk's one
rule numbering, tests/console/test_console_pages.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from connector.audit import AuditEntry
from connector.formatting import person_time, yuan
from connector.policy.decision import RuleMatched, TraceStep

Lang = Literal["en", "zh"]
_STEP: TypeAdapter[Any] = TypeAdapter(TraceStep)


def rule_title(step: RuleMatched, lang: Lang, *, matched: bool = False) -> str:
    """The desk's one numbering for rules: their position in the policy, with its own title."""
    if lang == "zh":
        title = step.description_zh or step.description
        return f"{'命中' if matched else ''}第{step.position}条规则：{title}"
    return f"{'matched ' if matched else ''}rule #{step.position}: {step.description}"


def trace_lines(trace: Any, lang: Lang = "en", *, desk: bool = False) -> list[str]:
    """A stored trace (a list of step dicts, or older plain text) as readable lines.

    ``desk``: for reviewers, a matched rule reads by its position and title only (the rule
    ids are the policy author's; ops and the CLI keep them)."""
    if not trace:
        return []
    lines: list[str] = []
    for step in trace if isinstance(trace, list) else [trace]:
        if not isinstance(step, dict):
            lines.append(str(step))
            continue
        try:
            parsed = _STEP.validate_python(step)
        except ValidationError:
            text = step.get(f"text_{lang}") or step.get("text_en")
            lines.append(str(text or json.dumps(step, ensure_ascii=False, sort_keys=True)))
            continue
        if desk and isinstance(parsed, RuleMatched):
            lines.append(rule_title(parsed, lang, matched=True))
            continue
        lines.append(parsed.zh() if lang == "zh" else parsed.en())
    return lines


def money(fen: Any) -> str:
    """Integer fen as ``¥1,500.00``; anything else as ``?`` (an old or odd entry)."""
    return yuan(fen, symbol=True) if isinstance(fen, int) and not isinstance(fen, bool) else "?"


def stored_time(text: Any, *, utc: bool = False) -> str:
    """A stored ISO time (UTC) as a person reads it."""
    if not isinstance(text, str):
        return "-"
    try:
        return person_time(datetime.fromisoformat(text), utc=utc)
    except ValueError:
        return text


def _value(key: str, value: Any) -> Any:
    """An amount (a detail named ``…amount`` or ``…_fen``, integer fen) reads in yuan."""
    if (key.endswith(("amount", "_fen", "price"))) and isinstance(value, int):
        return money(value)
    return value


def _pairs(details: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    return ", ".join(
        f"{k}={_value(k, v)}" for k, v in details.items() if k not in skip and v is not None
    )


def _attempt_line(d: dict[str, Any], utc: bool) -> str:
    parts = [f"{d.get('kind', 'effect')} #{d.get('effect_id', '?')}"]
    parts.append(f"attempt {d.get('attempt', '?')}: {d.get('outcome', '?')}")
    if d.get("platform_code"):
        parts.append(f"code {d['platform_code']}")
    if d.get("latency_ms") is not None:
        parts.append(f"{d['latency_ms']} ms")
    if d.get("error"):
        parts.append(f"error: {d['error']}")
    if d.get("next_attempt_at"):
        parts.append(f"next try {stored_time(d['next_attempt_at'], utc=utc)}")
    return ", ".join(parts)


def _case_seen(d: dict[str, Any], utc: bool) -> list[str]:
    return [
        f"first seen: {d.get('type')} / {d.get('reason')}, status {d.get('status')}, "
        f"version {d.get('version')}, asks {money(d.get('refund_amount'))} of "
        f"{money(d.get('paid_amount'))} paid, deadline {stored_time(d.get('deadline_at'), utc=utc)}"
    ]


def _case_changed(d: dict[str, Any], utc: bool) -> list[str]:
    if not d.get("facts_changed"):
        return [f"version {d.get('previous_version')} -> {d.get('version')} (no fact changed)"]
    fields = ", ".join(d.get("changed_fields") or []) or "-"
    status = (
        f"status {d.get('previous_status')} -> {d.get('status')}"
        if d.get("previous_status") != d.get("status")
        else f"status {d.get('status')}"
    )
    return [
        f"changed at version {d.get('version')} (was {d.get('previous_version')}): {fields}; "
        f"{status}, deadline {stored_time(d.get('deadline_at'), utc=utc)}"
    ]


def _decided(d: dict[str, Any], utc: bool) -> list[str]:
    lines = [
        f"decided {d.get('action')} by rule {d.get('rule_id')} "
        f"(policy {d.get('policy_version')}, on version {d.get('decided_version')})"
    ]
    if d.get("params"):
        lines.append(f"  params: {_pairs(d['params'])}")
    if d.get("effects"):
        lines.append(f"  effects: {', '.join(d['effects'])}")
    lines.extend(f"  trace: {line}" for line in trace_lines(d.get("trace")))
    return lines


def _effect_moved(event: str) -> Callable[[dict[str, Any], bool], list[str]]:
    verb = event.removeprefix("effect_")

    def render(d: dict[str, Any], _utc: bool) -> list[str]:
        return [f"{d.get('kind')} #{d.get('effect_id')} {verb}: {_pairs(d, ('kind', 'effect_id'))}"]

    return render


def _quarantined(d: dict[str, Any], _utc: bool) -> list[str]:
    problems = d.get("problems") or []
    return ["quarantined:"] + [f"  {p.get('field')}: {p.get('reason')}" for p in problems]


def _case_state(d: dict[str, Any], _utc: bool) -> list[str]:
    reason = f": {d['reason']}" if d.get("reason") else ""
    return [f"state {d.get('previous_state')} -> {d.get('state')}{reason}"]


def _escalated(d: dict[str, Any], utc: bool) -> list[str]:
    parts = [f"rule {d['rule_id']}"] if d.get("rule_id") else []
    if d.get("deadline_at"):
        parts.append(f"deadline {stored_time(d['deadline_at'], utc=utc)}")
    rest = _pairs(d, ("rule_id", "deadline_at"))
    return [
        "escalated to a person"
        + (f": {', '.join([*parts, rest] if rest else parts)}" if parts or rest else "")
    ]


_RENDERERS: dict[str, Callable[[dict[str, Any], bool], list[str]]] = {
    "case_seen": _case_seen,
    "case_changed": _case_changed,
    "decided": _decided,
    "effect_attempt": lambda d, utc: [_attempt_line(d, utc)],
    "effect_done": lambda d, utc: [_attempt_line(d, utc)],
    "effect_failed": lambda d, utc: [_attempt_line(d, utc)],
    "effect_superseded": _effect_moved("effect_superseded"),
    "effect_cancelled": _effect_moved("effect_cancelled"),
    "effect_requeued": _effect_moved("effect_requeued"),
    "quarantined": _quarantined,
    "case_state": _case_state,
    "escalated": _escalated,
}


def describe(entry: AuditEntry, *, utc: bool = False) -> list[str]:
    """One entry in plain words: a summary line, then indented detail lines (e.g. the trace)."""
    render = _RENDERERS.get(entry.event)
    if render is None:
        return [_pairs(entry.details) or "-"]
    return render(entry.details, utc)


def case_key(entry: AuditEntry) -> str | None:
    if not entry.case_id:
        return None
    return f"{entry.platform}/{entry.shop_id}/{entry.case_id}"


def format_entry(entry: AuditEntry, *, utc: bool = False) -> str:
    """``time  #seq actor event summary  [platform/shop/id]`` and its detail lines under it."""
    head, *rest = describe(entry, utc=utc)
    first = (
        f"{stored_time(entry.at, utc=utc)}  #{entry.seq:<6} {entry.actor:<14} "
        f"{entry.event:<18} {head}"
    )
    key = case_key(entry)
    where = f"  [{key}]" if key else ""
    return "\n".join([first + where, *(" " * 26 + line for line in rest)])
