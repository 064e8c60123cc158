"""Builders for ops command tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import multiprocessing.synchronize
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connector.effects import EffectKind
from connector.models import RefundCase
from connector.store import EffectRecord, EffectSpec, Store
from connector.store.sqlite import SqliteStore

START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


def make_case(case_id: str, **overrides: Any) -> RefundCase:
    doc: dict[str, Any] = {
        "platform": "taobao",
        "shop_id": "s1",
        "case_id": case_id,
        "order_id": f"O-{case_id}",
        "item": {"sku": f"SKU-{case_id}", "title": "陶瓷杯 350ml", "price": 5000, "quantity": 1},
        "type": "refund_only",
        "reason": "not_received",
        "status": "awaiting_seller",
        "order_status": "shipped",
        "paid_amount": 5000,
        "refund_amount": 4800,
        "created_at": "2026-11-12T09:00:00+08:00",
        "updated_at": "2026-11-12T09:00:00+08:00",
        "deadline_at": (START + timedelta(hours=48)).isoformat(),
        "logistics": {"carrier": "YTO", "waybill": f"YT{case_id}0001", "status": "lost"},
        "buyer": {"id": "b-anon-1"},
        "version": "v1",
    }
    doc.update(overrides)
    return RefundCase.model_validate(doc)


def decide(store: Store, case_id: str, *kinds: EffectKind) -> list[EffectRecord]:
    """A case seen and decided into the given effects (all pending)."""
    store.upsert_case(make_case(case_id))
    _, effects = store.record_decision(
        ("taobao", "s1", case_id),
        decided_version="v1",
        policy_version="p1",
        rule_id="R01",
        action="approve_refund",
        effects=[EffectSpec(kind=k, params={"amount": 4800}) for k in kinds],
    )
    return effects


def write_until_stopped(
    state_dir: str,
    started: multiprocessing.synchronize.Event,
    stop: multiprocessing.synchronize.Event,
    max_rounds: int = 200_000,
) -> None:
    """In another process or thread: keep committing audited writes until told to stop."""
    store = SqliteStore.open(Path(state_dir))
    try:
        for n in range(max_rounds):
            store.flag_buyer("taobao", f"w-{n}", actor="system", reason="load")
            started.set()
            if stop.is_set():
                return
    finally:
        store.close()


def invoke(app: Any, *args: str, columns: int = 80) -> Any:
    """Run the command in-process as if on a terminal ``columns`` wide."""
    from typer.testing import CliRunner

    return CliRunner(env={"COLUMNS": str(columns)}).invoke(app, list(args))
