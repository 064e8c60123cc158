"""Builders for policy tests: a valid baseline case and small overrides on top of it."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from connector.clock import BEIJING
from connector.models import RefundCase
from connector.policy import Decision, Policy, decide, load_default_policy, parse_policy
from connector.policy.loader import default_policy_text
from connector.store.sqlite import SqliteStore

NOW = datetime(2026, 11, 12, 10, 0, tzinfo=BEIJING)

BASE: dict[str, Any] = {
    "platform": "taobao",
    "shop_id": "shoe-flagship",
    "case_id": "T001",
    "order_id": "O1",
    "item": {
        "sku": "SH-1",
        "title": "loafer",
        "category": "shoes",
        "quantity": 1,
        "price": 29900,
        "no_reason_eligible": True,
    },
    "type": "refund_only",
    "reason": "changed_mind",
    "reason_text": "",
    "status": "awaiting_seller",
    "order_status": "not_shipped",
    "paid_amount": 29900,
    "refund_amount": 29900,
    "currency": "CNY",
    "created_at": "2026-11-11T09:00:00+08:00",
    "updated_at": "2026-11-11T09:00:00+08:00",
    "deadline_at": "2026-11-14T09:00:00+08:00",
    "shipped_at": None,
    "delivered_at": None,
    "logistics": None,
    "return_logistics": None,
    "inspection": None,
    "evidence": [],
    "buyer": {"id": "b-1", "refunds_90d": 0, "flagged": False},
    "warehouse": {"order_state": "not_printed"},
}

DELIVERED: dict[str, Any] = {
    "order_status": "delivered",
    "shipped_at": "2026-11-08T10:00:00+08:00",
    "delivered_at": "2026-11-09T15:00:00+08:00",
    "logistics": {"carrier": "YTO", "waybill": "YT1", "status": "delivered"},
    "warehouse": {"order_state": "shipped"},
}


def case_dict(*layers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """BASE with each layer, then ``fields``, applied on top (nested dicts merged)."""
    data = copy.deepcopy(BASE)
    for layer in (*layers, fields):
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
    return data


def make_case(*layers: dict[str, Any], **fields: Any) -> RefundCase:
    return RefundCase.model_validate(case_dict(*layers, **fields))


def at(now: datetime = NOW, **delta: float) -> datetime:
    return now + timedelta(**delta)


def decide_default(case: RefundCase, now: datetime = NOW) -> Decision:
    return decide(case, load_default_policy(), now)


def iso(value: datetime) -> str:
    return value.isoformat()


def stricter_text(cap_fen: int = 10000) -> str:
    """The default policy with a lower high-value cap, named "stricter": a candidate to try."""
    return (
        default_policy_text()
        .replace("high_value_cap = 100000", f"high_value_cap = {cap_fen}")
        .replace('name = "default"', 'name = "stricter"')
    )


def stricter() -> Policy:
    return parse_policy(stricter_text(), "stricter.toml")


def record_policy_decision(
    store: SqliteStore, case: RefundCase, policy: Policy, now: datetime
) -> None:
    """What the daemon writes for a policy decision: the view, the facts and the time."""
    store.upsert_case(case)
    decision = decide(case, policy, now)
    store.record_decision(
        (case.platform, case.shop_id, case.case_id),
        decided_version=case.version,
        policy_version=decision.policy_version,
        rule_id=decision.rule_id or "(none)",
        action=decision.action.value,
        params={**decision.expect_view(), "deadline_fallback": decision.deadline_fallback},
        facts=case,
        facts_at=now,
    )
