"""Unreachable rules: a later rule that an earlier one always pre-empts is reported, others not."""

from __future__ import annotations

import pytest

from connector.policy import find_unreachable_rules, load_default_policy, parse_policy

HEAD = """
[thresholds]
deadline_escalate = "60m"
deadline_fallback = "15m"
small = 2000
"""


def two_rules(first: str, second: str) -> list[str]:
    text = HEAD
    for rule_id, when in (("early", first), ("late", second)):
        text += f'[[rules]]\nid = "{rule_id}"\ndescription = "d"\naction = "human"\n{when}\n'
    return [str(w) for w in find_unreachable_rules(parse_policy(text, "p.toml"))]


def test_default_policy_has_no_shadowed_rules() -> None:
    assert find_unreachable_rules(load_default_policy()) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("", 'when.status = "closed"'),
        ('when.status = "in_dispute"', 'when.status = "in_dispute"\nwhen.reason = "quality"'),
        ('when.status.in = ["closed", "refunded"]', 'when.status = "closed"'),
        ('when.status.ne = "closed"', 'when.status = "refunded"'),
        ('when.warehouse.order_state.ne = "printed"', "when.warehouse.present = false"),
        ('when.status.not_in = ["closed"]', 'when.status.in = ["refunded", "in_dispute"]'),
        ("when.refund_amount.le = 2000", "when.refund_amount.le = 1000"),
        ('when.refund_amount.le = { threshold = "small" }', "when.refund_amount.lt = 1500"),
        ("when.refund_amount.ge = 10", "when.refund_amount = { gt = 10, le = 20 }"),
        ("when.refund_amount.gt = 0", "when.refund_amount = 5"),
        ('when.evidence.has_any = ["photo", "video"]', 'when.evidence.has_any = ["photo"]'),
        ('when.delivered_at.within = "7d"', 'when.delivered_at.within = "72h"'),
        ('when.delivered_at.older_than = "1d"', 'when.delivered_at.older_than = "7d"'),
        (
            'when.refund_amount.gt = { field = "paid_amount" }',
            'when.refund_amount.gt = { field = "paid_amount" }\nwhen.buyer.flagged = true',
        ),
        ("when.delivered_at.present = true", 'when.delivered_at.within = "7d"'),
        ("when.buyer.flagged = true", "when.buyer.flagged.in = [true]"),
        ("when.logistics.present = true", 'when.logistics.status = "lost"'),
    ],
)
def test_shadowed(first: str, second: str) -> None:
    warnings = two_rules(first, second)
    assert warnings == [
        "rule 'late' (#2) can never match: rule 'early' (#1) matches every case it would"
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ('when.status = "closed"', ""),
        ('when.status = "closed"', 'when.status = "refunded"'),
        ('when.status = "closed"', 'when.status.in = ["closed", "refunded"]'),
        ('when.status.ne = "closed"', 'when.status.in = ["closed", "refunded"]'),
        ('when.warehouse.order_state = "voided"', "when.warehouse.present = false"),
        ("when.refund_amount.le = 1000", "when.refund_amount.le = 2000"),
        ('when.evidence.has_any = ["photo"]', 'when.evidence.has_any = ["photo", "video"]'),
        ('when.delivered_at.within = "72h"', 'when.delivered_at.within = "7d"'),
        ('when.refund_amount.gt = { field = "paid_amount" }', "when.refund_amount.gt = 100"),
        ('when.buyer.flagged = true\nwhen.reason = "other"', "when.buyer.flagged = true"),
        ("when.delivered_at.present = true", "when.delivered_at.present = false"),
    ],
)
def test_not_shadowed(first: str, second: str) -> None:
    assert two_rules(first, second) == []


def test_every_rule_after_a_catch_all_is_reported_once() -> None:
    text = HEAD
    for rule_id, when in (("a", 'when.status = "closed"'), ("all", ""), ("b", ""), ("c", "")):
        text += f'[[rules]]\nid = "{rule_id}"\ndescription = "d"\naction = "none"\n{when}\n'
    warnings = find_unreachable_rules(parse_policy(text, "p.toml"))
    assert [(w.rule_id, w.shadowed_by) for w in warnings] == [("b", "all"), ("c", "all")]
