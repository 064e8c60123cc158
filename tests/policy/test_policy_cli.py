"""`refund-connector policy check|test|explain` through the real Typer app (and one process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.policy import EXPECT_KEYS, Decision

DATA = Path(__file__).resolve().parent.parent / "data" / "public.jsonl"
LINES = [line for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
runner = CliRunner()


def run(*args: str) -> Any:
    result = runner.invoke(app, ["policy", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def last_line(output: str) -> str:
    return output.rstrip("\n").splitlines()[-1]


def line_with(index: int, **case_changes: Any) -> str:
    data = json.loads(LINES[index])
    data["case"].update(case_changes)
    return json.dumps(data)


# ---- policy test ---------------------------------------------------------------------------


def test_public_casebook_passes() -> None:
    result = run("test", str(DATA))
    assert result.exit_code == 0
    assert last_line(result.output) == "24/24 cases match"
    for header in ("id", "expected", "got", "rule", "ok"):
        assert header in result.output
    assert "3-void-then-refund" in result.output


def test_bundled_casebook_is_the_default() -> None:
    result = run("test")
    assert result.exit_code == 0
    assert last_line(result.output) == "24/24 cases match"


def test_json_shape() -> None:
    result = run("test", str(DATA), "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert set(report) == {"total", "passed", "results"}
    assert (report["total"], report["passed"]) == (24, 24)
    first = report["results"][0]
    assert set(first) == {"id", "expected", "got", "rule", "ok"}
    assert first["expected"] == json.loads(LINES[0])["expect"]
    assert list(first["got"]) == list(EXPECT_KEYS)
    assert (first["id"], first["rule"], first["ok"]) == ("P001", "3-void-then-refund", True)


@pytest.fixture
def malformed(tmp_path: Path) -> Path:
    lines = [
        LINES[0],  # 1: fine
        line_with(2, status="pending"),  # 2: bad enum, expects human -> quarantined, passes
        line_with(0, refund_amount="299.00"),  # 3: not an integer, expects approve -> fails
        json.dumps({**json.loads(LINES[2]), "case": {"platform": "taobao"}}),  # 4: missing fields
        "{this is not json",  # 5
        json.dumps({"id": "X6", "now": "2026-11-12T10:00:00+08:00", "case": {}}),  # 6: no expect
        json.dumps({**json.loads(LINES[1]), "now": "tomorrow"}),  # 7: bad now
        "",  # blank: not a case
    ]
    file = tmp_path / "bad.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return file


def test_malformed_lines_are_reported_per_line(malformed: Path) -> None:
    result = run("test", str(malformed))
    assert result.exit_code == 1
    assert last_line(result.output) == "3/7 cases match"
    out = result.output
    assert "line 2: case failed validation" in out
    assert "'pending' is not one of" in out
    assert "line 3: case failed validation" in out
    assert "refund_amount" in out
    assert "whole number" in out
    assert "line 3 (P001): action: expected 'approve_refund', got 'human'" in out
    assert "line 4: case failed validation" in out
    assert "is required but missing" in out
    assert "line 5: not JSON" in out
    assert "line 6: missing 'expect'" in out
    assert "line 7: 'now' is not an ISO 8601 date-time" in out


def test_malformed_lines_in_json(malformed: Path) -> None:
    result = run("test", str(malformed), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["total"], report["passed"]) == (7, 3)
    by_id = {r["id"]: r for r in report["results"]}
    assert by_id["line 5"]["ok"] is False
    assert by_id["line 5"]["got"] is None
    assert "not JSON" in by_id["line 5"]["error"]
    assert by_id["P003"]["got"]["action"] == "human"
    assert by_id["P003"]["ok"] is True
    assert "status" in by_id["P003"]["error"]


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    data = json.loads(LINES[0])
    data["expect"] = {"action": "human"}
    file = tmp_path / "one.jsonl"
    file.write_text(json.dumps(data) + "\n", encoding="utf-8")
    result = run("test", str(file))
    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert last_line(result.output) == "0/1 cases match"


def test_empty_casebook_is_not_a_pass(tmp_path: Path) -> None:
    file = tmp_path / "empty.jsonl"
    file.write_text("\n", encoding="utf-8")
    result = run("test", str(file))
    assert result.exit_code == 1
    assert last_line(result.output) == "0/0 cases match"


def test_missing_casebook_file(tmp_path: Path) -> None:
    result = run("test", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1
    assert "cannot read casebook" in result.output


def test_with_another_policy(tmp_path: Path) -> None:
    policy = tmp_path / "strict.toml"
    policy.write_text(
        '[thresholds]\ndeadline_escalate = "60m"\ndeadline_fallback = "15m"\n'
        '[[rules]]\nid = "all-human"\ndescription = "everything to a person"\naction = "human"\n',
        encoding="utf-8",
    )
    result = run("test", str(DATA), "--policy", str(policy), "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert report["passed"] == sum(json.loads(x)["expect"]["action"] == "human" for x in LINES)
    assert {r["rule"] for r in report["results"]} == {"all-human"}


# ---- policy check --------------------------------------------------------------------------


def test_check_default() -> None:
    result = run("check")
    assert result.exit_code == 0
    assert result.output.startswith("OK: policy 'default'")
    assert "warning" not in result.output.replace("0 warning(s)", "")


def test_check_broken_policy_exits_1_naming_file_rule_and_field(tmp_path: Path) -> None:
    policy = tmp_path / "broken.toml"
    policy.write_text(
        '[thresholds]\ndeadline_escalate = "60m"\ndeadline_fallback = "15m"\n'
        '[[rules]]\nid = "ask"\ndescription = "d"\naction = "ask_buyer_to_modify"\n',
        encoding="utf-8",
    )
    result = run("check", str(policy))
    assert result.exit_code == 1
    assert str(policy) in result.output
    assert "rule 'ask' (#1), field 'fallback': is required" in result.output
    assert "OK" not in result.output


def test_check_warns_about_shadowed_rules_and_unused_thresholds(tmp_path: Path) -> None:
    policy = tmp_path / "shadow.toml"
    policy.write_text(
        '[thresholds]\ndeadline_escalate = "60m"\ndeadline_fallback = "15m"\nspare = 3\n'
        '[[rules]]\nid = "closed"\ndescription = "d"\nwhen.status.in = ["closed", "refunded"]\n'
        'action = "none"\n'
        '[[rules]]\nid = "closed-quality"\ndescription = "d"\nwhen.status = "closed"\n'
        'when.reason = "quality"\naction = "human"\n',
        encoding="utf-8",
    )
    result = run("check", str(policy))
    assert result.exit_code == 0
    assert (
        "warning: rule 'closed-quality' (#2) can never match: rule 'closed' (#1)" in result.output
    )
    assert "warning: threshold 'spare' is defined but no rule uses it" in result.output
    assert "2 warning(s)" in result.output


def test_broken_policy_refused_before_test_runs(tmp_path: Path) -> None:
    policy = tmp_path / "bad.toml"
    policy.write_text("[[rules]]\nid = 'x'\n", encoding="utf-8")
    result = run("test", str(DATA), "--policy", str(policy))
    assert result.exit_code == 1
    assert str(policy) in result.output
    assert "cases match" not in result.output


# ---- policy explain ------------------------------------------------------------------------


def test_explain_casebook_line_uses_its_now(tmp_path: Path) -> None:
    file = tmp_path / "p013.json"
    file.write_text(LINES[12], encoding="utf-8")
    result = run("explain", str(file))
    assert result.exit_code == 0
    out = result.output
    assert "decision: reject evidence_kinds=delivery_record" in out
    assert "matched rule 7-no-reason-too-late" in out
    assert "delivered_at is more than no_reason_window (7d) ago" in out
    assert "命中规则 7-no-reason-too-late" in out
    assert "签收时间(delivered_at)" in out
    assert "now: 2026-11-12 10:00:00 北京" in out
    assert "matches" in out


def test_explain_with_now_shows_the_guard(tmp_path: Path) -> None:
    file = tmp_path / "p010.json"
    file.write_text(LINES[9], encoding="utf-8")
    result = run("explain", str(file), "--now", "2026-11-14T08:50:00+08:00")
    assert result.exit_code == 0
    assert "deadline guard (escalate" in result.output
    assert "超时保护" in result.output
    assert "DOES NOT match" in result.output


def test_explain_bare_case_json(tmp_path: Path) -> None:
    file = tmp_path / "case.json"
    file.write_text(json.dumps(json.loads(LINES[0])["case"]), encoding="utf-8")
    result = run("explain", str(file), "--now", "2026-11-12T10:00:00+08:00", "--json")
    assert result.exit_code == 0
    decision = Decision.model_validate_json(result.stdout)
    assert (decision.action, decision.rule_id) == ("approve_refund", "3-void-then-refund")


def test_explain_bare_case_defaults_to_the_wall_clock(tmp_path: Path) -> None:
    file = tmp_path / "case.json"
    file.write_text(json.dumps(json.loads(LINES[22])["case"]), encoding="utf-8")
    result = run("explain", str(file))
    assert result.exit_code == 0
    assert "decision: none" in result.output


def test_explain_invalid_case_is_quarantined(tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_text(line_with(0, type="swap"), encoding="utf-8")
    result = run("explain", str(file))
    assert result.exit_code == 0
    assert "decision: human quarantined" in result.output
    assert "type: 'swap' is not one of" in result.output


@pytest.mark.parametrize(
    ("now", "words"),
    [("2026-11-12T10:00:00", "needs a UTC offset"), ("soon", "not an ISO 8601")],
)
def test_explain_bad_now(tmp_path: Path, now: str, words: str) -> None:
    file = tmp_path / "p001.json"
    file.write_text(LINES[0], encoding="utf-8")
    result = run("explain", str(file), "--now", now)
    assert result.exit_code == 1
    assert words in result.output


def test_explain_not_json(tmp_path: Path) -> None:
    file = tmp_path / "x.json"
    file.write_text("{", encoding="utf-8")
    result = run("explain", str(file))
    assert result.exit_code == 1
    assert "is not JSON" in result.output


def test_real_process_on_the_public_casebook() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "connector", "policy", "test", str(DATA)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip("\n").splitlines()[-1] == "24/24 cases match"
