"""Decisions and the outbox: stable keys, lifecycle, ordering, one transaction with the audit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from store_helpers import START, make_case

from connector.clock import FakeClock
from connector.effects import EffectKind, EffectStatus, effect_key
from connector.errors import StoreError
from connector.store import CaseState, DecisionRecord, EffectRecord, EffectSpec
from connector.store.sqlite import SqliteStore

KEY = ("taobao", "s1", "R1")
VOID_THEN_AGREE = (
    EffectSpec(kind=EffectKind.void_warehouse_order, params={"order_id": "O1"}),
    EffectSpec(kind=EffectKind.agree_refund, params={"amount": 5000}),
)


def decide(
    store: SqliteStore,
    *,
    policy_version: str = "p1",
    version: str = "v1",
    effects: tuple[EffectSpec, ...] = VOID_THEN_AGREE,
) -> tuple[DecisionRecord, list[EffectRecord]]:
    return store.record_decision(
        KEY,
        decided_version=version,
        policy_version=policy_version,
        rule_id="R02",
        action="approve_refund",
        params={"amount": 5000},
        trace=["rule R01 skipped: order shipped is false", "rule R02 matched"],
        effects=effects,
    )


@pytest.fixture
def seeded(store: SqliteStore) -> SqliteStore:
    store.upsert_case(make_case())
    return store


def test_decision_effects_and_audit_are_written_together(seeded: SqliteStore) -> None:
    decision, effects = decide(seeded)
    assert decision.rule_id == "R02"
    assert decision.trace[1] == "rule R02 matched"
    assert [e.kind for e in effects] == [EffectKind.void_warehouse_order, EffectKind.agree_refund]
    assert [e.position for e in effects] == [0, 1]
    assert all(e.status is EffectStatus.pending for e in effects)
    assert effects[1].key == effect_key("taobao", "s1", "R1", "v1", EffectKind.agree_refund)
    assert seeded.latest_decision(KEY) == decision
    decided = [e for e in seeded.audit_entries() if e.event == "decided"]
    assert decided[0].details["rule_id"] == "R02"
    assert decided[0].details["effects"] == ["void_warehouse_order", "agree_refund"]


def test_same_decision_point_never_enqueues_twice(seeded: SqliteStore) -> None:
    _, first = decide(seeded)
    _, again = decide(seeded, policy_version="p2")  # a policy edit is not a new decision point
    assert again == []
    assert len(seeded.list_effects()) == 2
    assert seeded.enqueue_effects(first[0].decision_id, VOID_THEN_AGREE) == []
    _, moved = decide(seeded, version="v2")  # the case moved on: a new decision point
    assert len(moved) == 2


def test_effect_lifecycle_with_unknown_outcome(seeded: SqliteStore, clock: FakeClock) -> None:
    _, (void, agree) = decide(seeded)
    assert [e.id for e in seeded.due_effects(clock.now())] == [void.id]  # agree waits for void
    flying = seeded.claim_effect(void.id)
    assert flying.status is EffectStatus.in_flight
    assert flying.attempts == 1
    assert seeded.due_effects(clock.now()) == []
    retry_at = clock.now() + timedelta(seconds=30)
    unknown = seeded.mark_effect_unknown(
        void.id, error="read timeout", next_attempt_at=retry_at, latency_ms=5000.4
    )
    assert unknown.status is EffectStatus.unknown
    assert seeded.due_effects(clock.now()) == []
    assert [e.id for e in seeded.due_effects(retry_at)] == [void.id]
    seeded.claim_effect(void.id)
    done = seeded.mark_effect_done(void.id, platform_code="voided", latency_ms=12.0)
    assert done.status is EffectStatus.done
    assert done.attempts == 2
    assert done.done_at == clock.now()
    assert [e.id for e in seeded.due_effects(retry_at)] == [agree.id]
    events = [(e.event, e.details.get("outcome")) for e in seeded.audit_entries()][-2:]
    assert events == [("effect_attempt", "unknown"), ("effect_done", "done")]


def test_reschedule_failure_and_ops_retry_cancel(seeded: SqliteStore, clock: FakeClock) -> None:
    _, (void, agree) = decide(seeded)
    seeded.claim_effect(void.id)
    later = clock.now() + timedelta(minutes=1)
    again = seeded.reschedule_effect(void.id, error="503", next_attempt_at=later)
    assert again.status is EffectStatus.pending
    assert again.next_attempt_at == later
    seeded.claim_effect(void.id)
    failed = seeded.mark_effect_failed(void.id, error="order printed", platform_code="void_refused")
    assert failed.status is EffectStatus.failed
    assert failed.last_platform_code == "void_refused"
    assert seeded.due_effects(later) == []  # agree stays blocked behind the failed void
    assert [e.id for e in seeded.list_effects(EffectStatus.failed)] == [void.id]
    requeued = seeded.retry_effect(void.id, actor="human:ann")
    assert requeued.status is EffectStatus.pending
    cancelled = seeded.cancel_effect(agree.id, actor="human:ann", reason="refund by hand")
    assert cancelled.status is EffectStatus.cancelled
    assert {e.id for e in seeded.open_effects(KEY)} == {void.id}


def test_illegal_transitions_are_refused(seeded: SqliteStore) -> None:
    _, (void, _agree) = decide(seeded)
    with pytest.raises(StoreError, match="cannot go from pending to unknown"):
        seeded.mark_effect_unknown(void.id, error="x", next_attempt_at=START)
    seeded.claim_effect(void.id)
    seeded.mark_effect_done(void.id)
    with pytest.raises(StoreError, match="cannot go from done to in_flight"):
        seeded.claim_effect(void.id)
    with pytest.raises(StoreError, match="only failed or unknown"):
        seeded.retry_effect(void.id, actor="human:ann")


def test_supersede_leaves_in_flight_and_done_alone(seeded: SqliteStore) -> None:
    _, (void, agree) = decide(seeded)
    seeded.claim_effect(void.id)
    superseded = seeded.supersede_open_effects(KEY, reason="buyer changed the request")
    assert [e.id for e in superseded] == [agree.id]
    statuses = {e.id: e.status for e in seeded.effects_of_case(KEY)}
    assert statuses == {void.id: EffectStatus.in_flight, agree.id: EffectStatus.superseded}


def test_in_flight_after_a_crash_becomes_unknown(state_dir: Path, clock: FakeClock) -> None:
    store = SqliteStore.open(state_dir, clock=clock)
    store.upsert_case(make_case())
    _, (void, _) = decide(store)
    store.claim_effect(void.id)
    store.close()  # the process dies here
    reopened = SqliteStore.open(state_dir, clock=clock)
    [recovered] = reopened.recover_in_flight()
    assert recovered.status is EffectStatus.unknown
    assert [e.id for e in reopened.due_effects(clock.now())] == [void.id]
    reopened.close()


def test_failed_unit_of_work_leaves_no_decision_effect_or_audit(seeded: SqliteStore) -> None:
    before = seeded.audit_head()

    class BoomError(Exception):
        pass

    def decide_then_fail() -> None:
        with seeded.unit_of_work():
            decide(seeded)
            seeded.set_case_state(KEY, CaseState.decided)
            raise BoomError

    with pytest.raises(BoomError):
        decide_then_fail()
    assert seeded.audit_head() == before
    assert seeded.latest_decision(KEY) is None
    assert seeded.list_effects() == []
    record = seeded.get_case(KEY)
    assert record is not None
    assert record.state is CaseState.new


def test_decision_for_unknown_case_is_refused(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="no case taobao/s1/R1"):
        decide(store)
    assert store.audit_head() is None


def test_cursor_moves_forward_only(store: SqliteStore) -> None:
    t1, t2 = START, START + timedelta(minutes=5)
    shop = store.advance_cursor("taobao", "s1", cursor="page-2", high_water_at=t2)
    assert shop.high_water_at == t2
    assert shop.cursor == "page-2"
    with pytest.raises(StoreError, match="would move back"):
        store.advance_cursor("taobao", "s1", cursor=None, high_water_at=t1)
    polled = store.record_poll("taobao", "s1", lag_s=1.5)
    assert polled.poll_lag_s == 1.5
    assert polled.last_poll_at == START
    assert store.record_full_reconciliation("taobao", "s1").last_full_reconciliation_at == START
    assert [s.shop_id for s in store.list_shops()] == ["s1"]


def test_a_shops_first_poll_is_remembered_and_never_moves(
    store: SqliteStore, clock: FakeClock
) -> None:
    """The first reconciliation is scheduled from it, whatever the restarts since."""
    assert store.record_poll("taobao", "s1", lag_s=0.1).first_polled_at == START
    clock.advance(timedelta(minutes=7))
    store.advance_cursor("taobao", "s1", cursor=None, high_water_at=START)
    shop = store.record_poll("taobao", "s1", lag_s=0.1)
    assert shop.first_polled_at == START
    assert shop.last_poll_at == START + timedelta(minutes=7)


def test_buyer_refunds_in_the_last_90_days(store: SqliteStore) -> None:
    now = START
    for n, days_ago in enumerate((1, 30, 89, 91, 200)):
        store.record_buyer_refund(
            ("taobao", "s1", f"R{n}"),
            buyer_id="b1",
            amount=100,
            refunded_at=now - timedelta(days=days_ago),
        )
    assert not store.record_buyer_refund(
        ("taobao", "s1", "R0"), buyer_id="b1", amount=100, refunded_at=now
    )
    store.record_buyer_refund(("taobao", "s2", "X"), buyer_id="b2", amount=1, refunded_at=now)
    assert store.buyer_refunds_within("taobao", "b1", now) == 3
    assert store.buyer_refunds_within("jd", "b1", now) == 0


def test_flag_list(store: SqliteStore) -> None:
    store.flag_buyer("taobao", "b1", actor="human:ann", reason="fraud ring")
    store.flag_buyer("jd", "b2", actor="human:ann", reason="abuse")
    assert store.flagged_buyers("taobao") == frozenset({"b1"})
    store.unflag_buyer("taobao", "b1", actor="human:ann")
    assert store.flagged_buyers("taobao") == frozenset()
    events = [e.event for e in store.audit_entries()]
    assert events == ["buyer_flagged", "buyer_flagged", "buyer_unflagged"]


def test_tasks_for_people(seeded: SqliteStore) -> None:
    task = seeded.open_task(KEY, "sms_code", deadline_at=START + timedelta(hours=1))
    assert [t.id for t in seeded.open_tasks("sms_code")] == [task.id]
    closed = seeded.close_task(task.id, actor="human:ann")
    assert closed.closed_by == "human:ann"
    assert seeded.open_tasks() == []
    with pytest.raises(StoreError, match="already done"):
        seeded.close_task(task.id, actor="human:ann")


def test_the_relays_query_looks_up_earlier_siblings_by_index(store: SqliteStore) -> None:
    """Found by the soak chaos run: the question "is an earlier effect of this decision still
    open?" scanned the whole effects table once per due effect, under the store lock; with a
    backlog of thousands the relay stopped the daemon. Each query ``due_effects`` makes must be
    answered from indexes (no full ``SCAN`` of a table)."""
    executed: list[str] = []
    store._conn.set_trace_callback(executed.append)
    try:
        store.due_effects(START)
    finally:
        store._conn.set_trace_callback(None)
    queries = [sql for sql in executed if sql.lstrip().upper().startswith("SELECT")]
    assert queries
    for sql in queries:
        plan = [row[3] for row in store._conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        assert not [step for step in plan if step.startswith("SCAN")], (sql, plan)
