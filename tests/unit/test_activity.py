"""`run`'s info-level voice (connector/activity.py): a summary a minute, a line per escalation and
per effect that finally failed, never a line per retried attempt."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from connector.activity import ActivityLog, attach
from connector.clock import FakeClock
from connector.effects import EffectKind
from connector.models import RefundCase
from connector.store.api import CaseState, EffectSpec
from connector.store.sqlite import SqliteStore

START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


def _case(case_id: str, deadline_in: timedelta) -> RefundCase:
    return RefundCase.model_validate(
        {
            "platform": "taobao",
            "shop_id": "s1",
            "case_id": case_id,
            "order_id": f"O-{case_id}",
            "item": {"sku": "SKU1", "title": "mug", "price": 5000},
            "type": "refund_only",
            "reason": "not_as_described",
            "status": "awaiting_seller",
            "order_status": "not_shipped",
            "paid_amount": 5000,
            "refund_amount": 5000,
            "created_at": START.isoformat(),
            "updated_at": START.isoformat(),
            "deadline_at": (START + deadline_in).isoformat(),
            "buyer": {"id": "b-anon"},
            "version": "v1",
        }
    )


@pytest.fixture
def world(tmp_path: Path) -> Any:
    clock = FakeClock(START)
    store = SqliteStore.open(tmp_path / "state", clock=clock)
    yield store, clock
    store.close()


def _decide_with_effect(store: SqliteStore, case: RefundCase) -> int:
    _, effects = store.record_decision(
        case.key,
        decided_version="v1",
        policy_version="p1",
        rule_id="r1",
        action="approve_refund",
        effects=[EffectSpec(kind=EffectKind.agree_refund, params={"amount": 5000})],
    )
    return effects[0].id


def test_one_line_per_escalation_and_final_failure_none_per_attempt(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store, clock = world
    activity = ActivityLog.from_now(store, clock)
    near, far = _case("NEAR", timedelta(minutes=30)), _case("FAR", timedelta(hours=30))
    store.upsert_case(near)
    store.upsert_case(far)
    effect_id = _decide_with_effect(store, near)
    for _ in range(3):  # three attempts that will be retried: counted, never told one by one
        store.claim_effect(effect_id)
        store.reschedule_effect(effect_id, error="busy", next_attempt_at=START)
    store.claim_effect(effect_id)
    store.mark_effect_failed(effect_id, error="isv.refund-closed", platform_code="isv")
    with store.unit_of_work():
        store.append_audit(
            "escalated", actor="policy", key=far.key, details={"rule_id": "r9", "guard": None}
        )
        store.set_case_state(far.key, CaseState.queued_for_human, actor="policy", reason="r9")
    with caplog.at_level(logging.INFO, logger="connector.activity"):
        activity.look()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("effect failed for good")
    assert "taobao/s1/NEAR" in lines[0]
    assert "after 4 attempts: isv.refund-closed" in lines[0]
    assert lines[1].startswith("escalated taobao/s1/FAR to a person: rule r9")
    assert not any("busy" in line for line in lines)


def test_summary_once_a_minute_with_figures_from_the_store(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store, clock = world
    activity = ActivityLog.from_now(store, clock)
    activity.look()  # the window starts
    near, far = _case("NEAR", timedelta(minutes=30)), _case("FAR", timedelta(hours=30))
    store.upsert_case(near)
    store.upsert_case(far)
    effect_id = _decide_with_effect(store, near)
    store.claim_effect(effect_id)
    store.mark_effect_done(effect_id, platform_code=None, latency_ms=12.0)
    with store.unit_of_work():
        store.set_case_state(far.key, CaseState.queued_for_human, actor="policy", reason="r9")
    with caplog.at_level(logging.INFO, logger="connector.activity"):
        clock.advance(30)
        activity.look()
        assert not caplog.records  # not a minute yet
        clock.advance(30)
        activity.look()
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("last 60s: seen 2, decided 1, applied 1, failed 0")
    assert "now queued for people 1, at risk 1 (deadline within 60 min)" in line
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="connector.activity"):
        clock.advance(60)
        activity.look()
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("last 60s: seen 0, decided 0, applied 0, failed 0")  # a new window


def test_history_before_the_start_is_not_retold(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store, clock = world
    store.upsert_case(_case("OLD", timedelta(hours=3)))
    with store.unit_of_work():
        store.append_audit("escalated", actor="policy", key=("taobao", "s1", "OLD"))
    activity = ActivityLog.from_now(store, clock)
    with caplog.at_level(logging.INFO, logger="connector.activity"):
        activity.look()
    assert not caplog.records


def test_the_service_hook_schedules_the_look(world: Any) -> None:
    store, clock = world

    class _Daemon:
        pass

    daemon = _Daemon()
    daemon.store, daemon.clock = store, clock  # type: ignore[attr-defined]
    scheduler = BackgroundScheduler(timezone="UTC")
    attach(daemon, scheduler)
    assert [job.id for job in scheduler.get_jobs()] == ["activity"]
