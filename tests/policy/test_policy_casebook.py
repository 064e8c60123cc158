"""The public casebook, line by line, and the casebook reader's handling of bad lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector.policy import EXPECT_KEYS, load_default_policy
from connector.policy.casebook import (
    UnreadableLine,
    bundled_casebook_text,
    compare,
    parse_line,
    read_casebook,
    run_casebook,
    run_line,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "public.jsonl"
LINES = [line for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_tests_carry_all_24_public_cases() -> None:
    assert len(LINES) == 24


def test_bundled_casebook_is_the_public_one() -> None:
    assert bundled_casebook_text() == DATA.read_text(encoding="utf-8")


@pytest.mark.parametrize("line", LINES, ids=[json.loads(line)["id"] for line in LINES])
def test_public_case(line: str) -> None:
    result = run_line(parse_line(line, 1), load_default_policy())
    assert result.ok, (result.mismatches, result.decision and result.decision.trace_lines())


def test_whole_casebook_24_of_24() -> None:
    report = run_casebook(read_casebook(DATA.read_text(encoding="utf-8")), load_default_policy())
    assert (report.passed, report.total) == (24, 24)


def test_compare_checks_only_keys_present_and_evidence_as_a_set() -> None:
    got = dict.fromkeys(EXPECT_KEYS) | {
        "action": "reject",
        "evidence_kinds": ["delivery_record", "logistics_trace"],
        "escalated": False,
    }
    assert compare({"action": "reject"}, got) == []
    assert compare({"evidence_kinds": ["logistics_trace", "delivery_record"]}, got) == []
    assert compare({"evidence_kinds": ["delivery_record"]}, got) != []
    assert compare({"escalated": 0}, got) == ["escalated: expected 0, got False"]
    assert compare({"colour": "red"}, got)[0].startswith("colour: not a decision key")


def _line(**changes: Any) -> str:
    data = json.loads(LINES[0])
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (_line(case=None), "missing 'case'"),
        (_line(expect=None, now=None), "missing 'expect', 'now'"),
        (_line(expect=["human"]), "'expect' must be a JSON object"),
        (_line(expect={"fallback": "reject"}), "no 'action'"),
        (_line(now="yesterday"), "not an ISO 8601 date-time"),
        (_line(now="2026-11-12T10:00:00"), "no UTC offset"),
        (_line(now=5), "must be an ISO 8601 date-time string"),
    ],
)
def test_unreadable_lines_say_what_is_wrong(text: str, words: str) -> None:
    entry = parse_line(text, 7)
    assert isinstance(entry, UnreadableLine)
    assert words in entry.problem
    result = run_line(entry, load_default_policy())
    assert result.ok is False
    assert result.problem is not None
    assert result.problem.startswith("line 7: ")


def test_quarantined_case_is_human_and_shows_its_problems() -> None:
    data = json.loads(LINES[2])  # P003, expected human
    data["case"]["status"] = "pending"
    data["case"]["refund_amount"] = "299.00"
    result = run_line(parse_line(json.dumps(data), 3), load_default_policy())
    assert result.ok is True
    assert result.got is not None
    assert result.got["action"] == "human"
    assert result.decision is not None
    assert result.decision.quarantined
    assert result.problem is not None
    assert "status" in result.problem
    assert "refund_amount" in result.problem
    assert "whole number" in result.problem


def test_blank_lines_are_not_cases() -> None:
    entries = list(read_casebook("\n" + LINES[0] + "\n   \n" + LINES[1] + "\n"))
    assert [getattr(e, "number", None) for e in entries] == [2, 4]
