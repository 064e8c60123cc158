"""Builders for console tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from connector.clock import FakeClock
from connector.console.accounts import add_account
from connector.models import RefundCase
from connector.store import CaseRecord, CaseState, Store

START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
PASSWORD = "correct horse 42"


def make_case(**overrides: Any) -> RefundCase:
    doc: dict[str, Any] = {
        "platform": "taobao",
        "shop_id": "s1",
        "case_id": "R1",
        "order_id": "O1",
        "item": {"sku": "SKU1", "title": "保温杯", "price": 5000},
        "type": "refund_only",
        "reason": "not_received",
        "reason_text": "没收到，电话 13812345678",
        "status": "awaiting_seller",
        "order_status": "shipped",
        "paid_amount": 5000,
        "refund_amount": 5000,
        "created_at": "2026-11-12T09:00:00+08:00",
        "updated_at": "2026-11-12T09:00:00+08:00",
        "deadline_at": (START + timedelta(hours=48)).isoformat(),
        "logistics": {"carrier": "YTO", "waybill": "YT100", "status": "delivered"},
        "evidence": [{"kind": "photo", "url": "https://img.example/1.png"}],
        "buyer": {"id": "b-anon-1"},
        "version": "v1",
    }
    doc.update(overrides)
    return RefundCase.model_validate(doc)


def queue_case(store: Store, deadline_in: timedelta, **overrides: Any) -> CaseRecord:
    """A case the policy sent to a person, with a policy decision and its trace."""
    now = START
    case = make_case(deadline_at=(now + deadline_in).isoformat(), **overrides)
    change = store.upsert_case(case)
    key = change.record.key
    trace = [
        {"kind": "rule", "rule_id": "4-delivered", "position": 4,
         "description": "signed but buyer says not received",
         "description_zh": "已签收但买家称未收到"},
        {"kind": "condition", "rule_id": "4-delivered", "field": "logistics.status", "op": "eq",
         "expected": "delivered", "actual": "delivered", "passed": True},
    ]
    store.record_decision(key, decided_version=case.version, policy_version="p1",
                          rule_id="4-delivered", action="human", trace=trace)
    return store.set_case_state(key, CaseState.queued_for_human, reason="policy")


def add_user(store: Store, name: str, role: str) -> None:
    add_account(store, name, role, PASSWORD, actor="system", via="test")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session's CSRF token from the queue page."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"account": name, "password": password, "csrf": csrf_of(form.text), "next": "/queue"},
        follow_redirects=True,
    )
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


def fake_clock() -> FakeClock:
    return FakeClock(START)
