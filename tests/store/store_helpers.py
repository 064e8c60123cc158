"""Shared builders for store tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connector.models import RefundCase

START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


def make_case(**overrides: Any) -> RefundCase:
    doc: dict[str, Any] = {
        "platform": "taobao",
        "shop_id": "s1",
        "case_id": "R1",
        "order_id": "O1",
        "item": {"sku": "SKU1", "title": "mug", "price": 5000, "no_reason_eligible": True},
        "type": "refund_only",
        "reason": "no_reason_7d",
        "status": "awaiting_seller",
        "order_status": "not_shipped",
        "paid_amount": 5000,
        "refund_amount": 5000,
        "created_at": "2026-11-12T09:00:00+08:00",
        "updated_at": "2026-11-12T09:00:00+08:00",
        "deadline_at": (START + timedelta(hours=48)).isoformat(),
        "buyer": {"id": "b-anon-1"},
        "version": "v1",
    }
    doc.update(overrides)
    return RefundCase.model_validate(doc)


def hours_after_start(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat()


def write_from_another_process(state_dir: str, worker: int, cases: int) -> None:
    """Run in a child process: open the same database and write cases (each with audit rows)."""
    from pathlib import Path

    from connector.store.sqlite import SqliteStore

    store = SqliteStore.open(Path(state_dir))
    try:
        for n in range(cases):
            store.upsert_case(make_case(shop_id=f"w{worker}", case_id=f"C{n}"))
            store.flag_buyer("taobao", f"b{worker}-{n}", actor="human:ops", reason="test")
    finally:
        store.close()
