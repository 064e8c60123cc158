"""Queries an idle daemon runs often must not grow with the settled cases a store keeps.

Found by ``python -m benchmarks.scale`` (docs/benchmarks.md): with the closed states bound as
parameters, the sweeper's guard query scanned every stored case on every sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from store_helpers import START, make_case

import connector.store.migrations as migrations_module
from connector.clock import FakeClock
from connector.store.api import CaseState
from connector.store.sqlite import GUARD_QUERY, OPEN_CASE_CONDITION, SqliteStore


def _plan(store: SqliteStore, sql: str, params: tuple[object, ...]) -> str:
    rows = store._conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return " | ".join(str(tuple(row)[-1]) for row in rows)


def test_guard_query_searches_the_open_case_index(store: SqliteStore) -> None:
    plan = _plan(store, GUARD_QUERY, ("2026-11-12T00:00:00Z", "refunded", "closed", 500))
    assert "USING INDEX cases_guard" in plan, plan
    assert "SCAN cases" not in plan.replace("SCAN cases USING", ""), plan


def test_open_case_condition_is_the_partial_index_condition() -> None:
    schema = Path(migrations_module.__file__).read_text(encoding="utf-8")
    assert f"CREATE INDEX cases_guard ON cases (guard_at) WHERE {OPEN_CASE_CONDITION};" in schema


def test_guard_query_returns_open_cases_only(store: SqliteStore, clock: FakeClock) -> None:
    past = (START - timedelta(hours=1)).isoformat()
    with store.unit_of_work():
        store.upsert_case(make_case(case_id="settled", status="refunded", deadline_at=past))
        store.upsert_case(make_case(case_id="open", deadline_at=past))
    clock.advance(timedelta(hours=1))
    assert [r.case_id for r in store.cases_due_for_guard(clock.now())] == ["open"]


def _statements(store: SqliteStore, call: Callable[[], object]) -> list[str]:
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        store._conn.set_trace_callback(None)
    return seen


def test_count_by_state_reads_the_counts_not_the_cases(store: SqliteStore) -> None:
    store.import_cases([make_case(case_id=f"C{i}") for i in range(5)])
    statements = _statements(store, store.count_cases_by_state)
    assert statements
    assert not any(" FROM cases" in sql for sql in statements), statements


def test_counts_follow_every_change_of_state(store: SqliteStore, clock: FakeClock) -> None:
    store.import_cases([make_case(case_id=f"C{i}") for i in range(4)])
    with store.unit_of_work():
        store.upsert_case(make_case(case_id="settled", status="refunded"))
        store.upsert_case(make_case(case_id="C0", version="v2", status="refunded"))
    store.set_case_state(("taobao", "s1", "C1"), CaseState.queued_for_human, reason="t")
    store.set_case_state(("taobao", "s1", "C1"), CaseState.queued_for_human, reason="again")
    store.set_case_state(("taobao", "s1", "C2"), CaseState.waiting, reason="t")
    counted = store.count_cases_by_state()
    rows = store._conn.execute("SELECT state, count(*) FROM cases GROUP BY state").fetchall()
    truth = dict.fromkeys(CaseState, 0) | {CaseState(state): n for state, n in rows}
    assert counted == truth
    assert sum(counted.values()) == 5


def test_counts_of_a_store_older_than_the_counts_are_backfilled(
    state_dir: Path, clock: FakeClock
) -> None:
    store = SqliteStore.open(state_dir, clock=clock)
    store.import_cases([make_case(case_id=f"C{i}") for i in range(3)])
    with store.unit_of_work():
        store._conn.execute("DROP TABLE case_state_counts")
        for name in ("insert", "update", "delete"):
            store._conn.execute(f"DROP TRIGGER cases_counted_{name}")
        store._conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0007_case_state_counts'")
    store.close()
    reopened = SqliteStore.open(state_dir, clock=clock)
    try:
        assert reopened.count_cases_by_state()[CaseState.new] == 3
    finally:
        reopened.close()
