"""Running a casebook (JSON lines of case, now and expected decision) against a policy.

Every non-blank line counts. A line that cannot be read is a failed result with a message naming
the line and what is wrong; a case that fails validation is quarantined and decided ``human``
with its problems shown (it passes when ``human`` was expected). Nothing here raises for bad
input, so ``policy test`` never prints a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from connector.models import QuarantinedCase, RefundCase, parse_case
from connector.policy.decision import EXPECT_KEYS, Decision
from connector.policy.engine import decide, decide_quarantined
from connector.policy.model import Policy

BUNDLED_CASEBOOK = "connector/data/casebook.jsonl (bundled)"


def bundled_casebook_text() -> str:
    """The public casebook shipped with the package (``policy test`` with no file)."""
    return resources.files("connector.data").joinpath("casebook.jsonl").read_text("utf-8")


@dataclass(frozen=True, slots=True)
class CasebookLine:
    """One readable line: its case (valid or quarantined), the moment and the expectation."""

    number: int
    id: str
    title: str
    now: datetime
    case: RefundCase | QuarantinedCase
    expect: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UnreadableLine:
    """A line that could not be turned into a case to decide; counts as a failure."""

    number: int
    id: str
    problem: str
    expect: dict[str, Any] | None = None


def _parse_now(value: Any) -> datetime | str:
    if not isinstance(value, str):
        return f"'now' must be an ISO 8601 date-time string, got {type(value).__name__}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return f"'now' is not an ISO 8601 date-time: {value!r}"
    if parsed.tzinfo is None:
        return f"'now' has no UTC offset: {value!r} (write e.g. 2026-11-12T10:00:00+08:00)"
    return parsed


def parse_line(text: str, number: int) -> CasebookLine | UnreadableLine:
    """Read one casebook line; every problem becomes an ``UnreadableLine`` with plain words."""
    label = f"line {number}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return UnreadableLine(number, label, f"not JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(data, dict):
        return UnreadableLine(number, label, f"not a JSON object (got {type(data).__name__})")
    raw_id = data.get("id")
    line_id = raw_id if isinstance(raw_id, str) and raw_id else label
    expect = data.get("expect")
    missing = [key for key in ("case", "expect", "now") if key not in data]
    if missing:
        return UnreadableLine(
            number,
            line_id,
            f"missing {', '.join(repr(m) for m in missing)}",
            expect if isinstance(expect, dict) else None,
        )
    if not isinstance(expect, dict):
        return UnreadableLine(number, line_id, "'expect' must be a JSON object")
    if not isinstance(expect.get("action"), str):
        return UnreadableLine(number, line_id, "'expect' has no 'action' string", expect)
    now = _parse_now(data["now"])
    if isinstance(now, str):
        return UnreadableLine(number, line_id, now, expect)
    title = data.get("title") if isinstance(data.get("title"), str) else ""
    return CasebookLine(
        number=number,
        id=line_id,
        title=str(title),
        now=now,
        case=parse_case(data["case"]),
        expect=expect,
    )


def read_casebook(text: str) -> Iterator[CasebookLine | UnreadableLine]:
    """Every non-blank line of a casebook, numbered from 1 as an editor shows them."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield parse_line(line, number)


def compare(expect: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """The keys of ``expect`` that ``got`` does not match (evidence kinds compared as sets)."""
    mismatches: list[str] = []
    for key, wanted in expect.items():
        if key not in EXPECT_KEYS:
            mismatches.append(f"{key}: not a decision key (known: {', '.join(EXPECT_KEYS)})")
            continue
        actual = got.get(key)
        if key == "evidence_kinds":
            same = isinstance(wanted, list) and set(map(str, wanted)) == set(actual or [])
        else:
            same = type(wanted) is type(actual) and wanted == actual
        if not same:
            mismatches.append(f"{key}: expected {wanted!r}, got {actual!r}")
    return mismatches


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One line's outcome, in the shape ``policy test --json`` prints (plus details)."""

    id: str
    line: int
    expected: dict[str, Any] | None
    got: dict[str, Any] | None
    rule: str | None
    ok: bool
    mismatches: tuple[str, ...] = ()
    problem: str | None = None
    decision: Decision | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "expected": self.expected,
            "got": self.got,
            "rule": self.rule,
            "ok": self.ok,
        }
        if self.problem is not None:
            out["error"] = self.problem
        return out


@dataclass(frozen=True, slots=True)
class CasebookReport:
    results: tuple[CaseResult, ...] = field(default=())

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.ok)

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "passed": self.passed,
            "results": [r.as_json() for r in self.results],
        }


def run_line(entry: CasebookLine | UnreadableLine, policy: Policy) -> CaseResult:
    if isinstance(entry, UnreadableLine):
        return CaseResult(
            id=entry.id,
            line=entry.number,
            expected=entry.expect,
            got=None,
            rule=None,
            ok=False,
            problem=f"line {entry.number}: {entry.problem}",
        )
    if isinstance(entry.case, QuarantinedCase):
        decision = decide_quarantined(entry.case, policy, entry.now)
        problem: str | None = (
            f"line {entry.number}: case failed validation, quarantined as human: "
            + entry.case.summary()
        )
    else:
        decision = decide(entry.case, policy, entry.now)
        problem = None
    got = decision.expect_view()
    mismatches = compare(entry.expect, got)
    return CaseResult(
        id=entry.id,
        line=entry.number,
        expected=entry.expect,
        got=got,
        rule=decision.rule_id,
        ok=not mismatches,
        mismatches=tuple(mismatches),
        problem=problem,
        decision=decision,
    )


def run_casebook(
    entries: Iterable[CasebookLine | UnreadableLine], policy: Policy
) -> CasebookReport:
    return CasebookReport(tuple(run_line(entry, policy) for entry in entries))


def load_casebook(path: str | Path | None) -> tuple[str, str]:
    """(label, text) of a casebook file, or of the bundled one when ``path`` is None."""
    if path is None:
        return BUNDLED_CASEBOOK, bundled_casebook_text()
    file = Path(path)
    return str(file), file.read_text(encoding="utf-8")
