"""Loading policies: every broken file is refused, naming the file, the rule and the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from connector.errors import PolicyError
from connector.policy import load_default_policy, load_policy, parse_policy
from connector.policy.loader import default_policy_text

THRESHOLDS = """
[thresholds]
deadline_escalate = "60m"
deadline_fallback = "15m"
high_value_cap = 100000
window = "7d"
"""


def rule(body: str, rule_id: str = "r1") -> str:
    return f'[[rules]]\nid = "{rule_id}"\ndescription = "a rule"\n{body}\n'


def refused(tmp_path: Path, text: str) -> PolicyError:
    file = tmp_path / "shop.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(file)
    assert info.value.file == str(file)
    assert str(file) in str(info.value)
    return info.value


def single(error: PolicyError) -> str:
    assert len(error.problems) == 1, error.problems
    return error.problems[0]


def test_default_policy_loads_with_its_thresholds() -> None:
    policy = load_default_policy()
    assert policy.name == "default"
    assert policy.thresholds["high_value_cap"] == 100000
    assert policy.thresholds["no_reason_window"] == timedelta(hours=168)
    assert policy.thresholds["small_refund_limit"] == 2000
    assert policy.thresholds["small_item_limit"] == 3000
    assert policy.thresholds["serial_refunder_count"] == 5
    assert policy.guard_escalate == timedelta(minutes=60)
    assert policy.guard_fallback == timedelta(minutes=15)
    assert policy.unused_thresholds == ()
    assert policy.version.startswith("sha256:")


def test_a_copy_of_the_default_file_has_the_same_version(tmp_path: Path) -> None:
    file = tmp_path / "copy.toml"
    file.write_text(default_policy_text(), encoding="utf-8")
    assert load_policy(file).version == load_default_policy().version


def test_version_ignores_comments_and_layout_but_not_content() -> None:
    body = rule('action = "human"')
    base = parse_policy(THRESHOLDS + body, "a.toml")
    commented = parse_policy("# comment\n" + THRESHOLDS + "\n\n" + body + "# end\n", "b.toml")
    changed = parse_policy(THRESHOLDS.replace("100000", "100001") + body, "c.toml")
    assert base.version == commented.version
    assert base.version != changed.version


def test_unknown_rule_field(tmp_path: Path) -> None:
    problem = single(refused(tmp_path, THRESHOLDS + rule('actoin = "human"\naction = "human"')))
    assert "rule 'r1' (#1)" in problem
    assert "'actoin'" in problem
    assert "unknown field" in problem
    assert "did you mean 'action'" in problem


def test_unknown_action(tmp_path: Path) -> None:
    problem = single(refused(tmp_path, THRESHOLDS + rule('action = "aprove_refund"')))
    assert "rule 'r1'" in problem
    assert "'action'" in problem
    assert "unknown action 'aprove_refund'" in problem
    assert "approve_refund" in problem


def test_missing_action(tmp_path: Path) -> None:
    problem = single(refused(tmp_path, THRESHOLDS + rule("")))
    assert "'action'" in problem
    assert "missing" in problem


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ('action = "human"\nescalate = "yes"', "escalate", "true or false"),
        ('action = "approve_refund"\nwarehouse_void = 1', "warehouse_void", "true or false"),
        ('action = "approve_refund"\nrefund_amount = 12.5', "refund_amount", "whole number"),
        ('action = "approve_refund"\nrefund_amount = 0', "refund_amount", "above 0"),
        (
            'action = "human"\nwhen.refund_amount.gt = "lots"',
            "when.refund_amount.gt",
            "whole number",
        ),
        ('action = "human"\nwhen.buyer.flagged = "yes"', "when.buyer.flagged", "true or false"),
        ('action = "human"\nwhen.status.in = "closed"', "when.status.in", "non-empty array"),
        ('action = "human"\nwhen = "always"', "when", "table of conditions"),
        ('action = "human"\non_deadline = "ignore"', "on_deadline", "leave_to_platform"),
        (
            'action = "approve_return"\nreturn_shipping_paid_by = "platform"',
            "return_shipping_paid_by",
            '"buyer" or "seller"',
        ),
    ],
)
def test_wrong_types(tmp_path: Path, body: str, field: str, words: str) -> None:
    problem = single(refused(tmp_path, THRESHOLDS + rule(body)))
    assert "rule 'r1'" in problem
    assert f"field {field!r}" in problem
    assert words in problem


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('action = "ask_buyer_to_modify"', "fallback"),
        ('action = "approve_return"', "return_shipping_paid_by"),
        ('action = "reject"', "evidence_kinds"),
        ('action = "ask_buyer_to_modify"\nfallback = "reject"', "evidence_kinds"),
    ],
)
def test_missing_parameter(tmp_path: Path, body: str, field: str) -> None:
    problem = single(refused(tmp_path, THRESHOLDS + rule(body)))
    assert "rule 'r1'" in problem
    assert f"field {field!r}" in problem
    assert "is required for action" in problem


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('action = "human"\nwarehouse_void = true', "warehouse_void"),
        (
            'action = "reject"\nevidence_kinds = ["delivery_record"]\nrefund_amount = 100',
            "refund_amount",
        ),
        ('action = "human"\nfallback = "reject"', "fallback"),
    ],
)
def test_parameter_the_action_does_not_use(tmp_path: Path, body: str, field: str) -> None:
    problem = single(refused(tmp_path, THRESHOLDS + rule(body)))
    assert f"field {field!r}" in problem
    assert "is not used by action" in problem


def test_fallback_must_be_a_final_action(tmp_path: Path) -> None:
    problem = single(
        refused(tmp_path, THRESHOLDS + rule('action = "ask_buyer_to_modify"\nfallback = "wait"'))
    )
    assert "field 'fallback'" in problem
    assert "cannot be a fallback" in problem


def test_unknown_evidence_kind_to_attach(tmp_path: Path) -> None:
    body = 'action = "reject"\nevidence_kinds = ["delivery_recrod"]'
    problem = single(refused(tmp_path, THRESHOLDS + rule(body)))
    assert "field 'evidence_kinds'" in problem
    assert "did you mean 'delivery_record'" in problem


def test_unknown_threshold_name(tmp_path: Path) -> None:
    body = 'action = "human"\nwhen.refund_amount.gt = { threshold = "high_cap" }'
    problem = single(refused(tmp_path, THRESHOLDS + rule(body)))
    assert "rule 'r1'" in problem
    assert "field 'when.refund_amount.gt.threshold'" in problem
    assert "unknown threshold 'high_cap'" in problem
    assert "high_value_cap" in problem


def test_threshold_of_the_wrong_kind(tmp_path: Path) -> None:
    body = 'action = "human"\nwhen.refund_amount.gt = { threshold = "window" }'
    assert "is a duration, not a number" in single(refused(tmp_path, THRESHOLDS + rule(body)))
    body = 'action = "human"\nwhen.delivered_at.within = { threshold = "high_value_cap" }'
    assert "is a number, not a duration" in single(refused(tmp_path, THRESHOLDS + rule(body)))


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ("when.buyer.flaged = true", "when.buyer.flaged"),
        ('when."buyer.flaged" = true', "when.buyer.flaged"),
        ("when.refund_amont.gt = 1", "when.refund_amont"),
        ('when.refund_amount.gt = { field = "paid" }', "when.refund_amount.gt.field"),
    ],
)
def test_unknown_case_field(tmp_path: Path, condition: str, field: str) -> None:
    problem = single(refused(tmp_path, THRESHOLDS + rule(f'action = "human"\n{condition}')))
    assert "rule 'r1'" in problem
    assert f"field {field!r}" in problem
    assert "unknown case field" in problem


def test_unknown_case_field_suggests_the_right_one(tmp_path: Path) -> None:
    problem = single(
        refused(tmp_path, THRESHOLDS + rule('action = "human"\nwhen.buyer.flaged = true'))
    )
    assert "did you mean 'buyer.flagged'" in problem


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ('when.status = "refundd"', "'refundd' is not a value of status"),
        ('when.warehouse.order_state.in = ["printed", "lost"]', "'lost' is not a value"),
        ("when.status.gt = 3", "not a number field"),
        ('when.refund_amount.within = "7d"', "not a date-time field"),
        ('when.delivered_at.within = "7 days"', "is not a duration"),
        ('when.delivered_at = "2026-11-01"', "cannot be compared to a value"),
        ('when.evidence.has_any = ["selfie"]', "unknown evidence kind 'selfie'"),
        ('when.reason.has_any = ["photo"]', "has_any applies only to 'evidence'"),
        ('when.logistics = { present = true, status = "lost" }', "mixes operators"),
        ("when.logistics = {}", "empty condition table"),
        ('when.refund_amount.gt = { field = "reason" }', "is not a number field"),
        ('when.refund_amount.gt = { fieldname = "paid_amount" }', "a reference is"),
    ],
)
def test_impossible_conditions(tmp_path: Path, condition: str, words: str) -> None:
    problem = single(refused(tmp_path, THRESHOLDS + rule(f'action = "human"\n{condition}')))
    assert "rule 'r1'" in problem
    assert "field 'when." in problem
    assert words in problem


@pytest.mark.parametrize(
    ("thresholds", "field", "words"),
    [
        ('deadline_escalate = "60m"', "deadline_fallback", "is required"),
        ('deadline_escalate = 60\ndeadline_fallback = "15m"', "deadline_escalate", "duration"),
        ('deadline_escalate = "15m"\ndeadline_fallback = "60m"', "deadline_fallback", "longer"),
        ('deadline_escalate = "60m"\ndeadline_fallback = "15m"\ncap = true', "cap", "whole number"),
        ('deadline_escalate = "60m"\ndeadline_fallback = "15m"\nw = "a week"', "w", "duration"),
    ],
)
def test_bad_thresholds(tmp_path: Path, thresholds: str, field: str, words: str) -> None:
    text = f"[thresholds]\n{thresholds}\n" + rule('action = "human"')
    problem = single(refused(tmp_path, text))
    assert "[thresholds]" in problem
    assert f"field {field!r}" in problem
    assert words in problem


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    error = refused(tmp_path, THRESHOLDS + "[[rules]\nid = 1")
    assert "not valid TOML" in single(error)


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    error = refused(tmp_path, "")  # creates the file; now point at a missing one
    missing = tmp_path / "nope.toml"
    with pytest.raises(PolicyError) as info:
        load_policy(missing)
    assert str(missing) in str(info.value)
    assert "cannot read" in str(info.value)
    assert "rules" in " ".join(error.problems)


def test_duplicate_and_missing_ids(tmp_path: Path) -> None:
    text = THRESHOLDS + rule('action = "human"', "x") + rule('action = "none"', "x")
    text += '[[rules]]\ndescription = "no id"\naction = "none"\n'
    text += '[[rules]]\nid = "has space"\ndescription = "d"\naction = "none"\n'
    error = refused(tmp_path, text)
    joined = "\n".join(error.problems)
    assert "rule 'x' (#2), field 'id': duplicate id; rule #1" in joined
    assert "rule #3, field 'id': is required" in joined
    assert "rule 'has space' (#4), field 'id'" in joined


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = THRESHOLDS + rule('action = "nope"', "a") + rule('action = "human"\nwhen.x = 1', "b")
    text += "[extra]\nkey = 1\n"
    error = refused(tmp_path, text)
    assert len(error.problems) == 3
    assert any("top level, field 'extra'" in p for p in error.problems)


def test_no_rules_is_refused(tmp_path: Path) -> None:
    assert "at least one [[rules]]" in single(refused(tmp_path, THRESHOLDS))


def test_unused_thresholds_are_noted() -> None:
    policy = parse_policy(THRESHOLDS + rule('action = "human"'), "p.toml")
    assert policy.unused_thresholds == ("high_value_cap", "window")


def test_reference_forms_compile() -> None:
    body = """action = "human"
when.refund_amount.gt = { field = "paid_amount" }
when.paid_amount.le = { threshold = "high_value_cap" }
when.buyer.refunds_90d = { ge = 2, lt = 9 }
when.delivered_at.within = { threshold = "window" }
when.shipped_at.older_than = "1d12h"
when.logistics.present = false
when."item.no_reason_eligible" = true
when.reason.not_in = ["other"]
when.status.ne = "closed"
when.evidence.has_any = ["photo"]
"""
    policy = parse_policy(THRESHOLDS + rule(body), "p.toml")
    ops = [(c.field, getattr(c, "op", "")) for c in policy.rules[0].conditions]
    assert ops == [
        ("refund_amount", "gt"),
        ("paid_amount", "le"),
        ("buyer.refunds_90d", "ge"),
        ("buyer.refunds_90d", "lt"),
        ("delivered_at", "within"),
        ("shipped_at", "older_than"),
        ("logistics", "absent"),
        ("item.no_reason_eligible", "eq"),
        ("reason", "not_in"),
        ("status", "ne"),
        ("evidence", "has_any"),
    ]
