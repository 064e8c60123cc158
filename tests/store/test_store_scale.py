"""Queries an idle daemon runs often must not grow with the settled cases a store keeps.

Found by ``python -m benchmarks.scale`` (docs/benchmarks.md): with the closed states bound as
parameters, the sweeper's guard query scanned every stored case on every sweep.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from store_helpers import START, make_case

import connector.store.migrations as migrations_module
from connector.clock import FakeClock
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
