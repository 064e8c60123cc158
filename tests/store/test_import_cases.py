"""Bulk import of new cases: the same stored rows and audit chain as one upsert per case."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import make_case

from connector.audit import verify_chain
from connector.clock import FakeClock
from connector.errors import StoreError
from connector.models import RefundCase
from connector.store.api import CaseState
from connector.store.sqlite import SqliteStore


def _cases(count: int) -> list[RefundCase]:
    return [
        make_case(
            case_id=f"C{i}",
            order_id=f"O{i}",
            status="refunded" if i % 3 == 0 else "awaiting_seller",
        )
        for i in range(count)
    ]


def test_import_stores_what_upsert_stores(store: SqliteStore, tmp_path: Path) -> None:
    cases = _cases(12)
    store.upsert_case(make_case(case_id="before"))
    assert store.import_cases(cases) == 12
    twin = SqliteStore.open(tmp_path / "twin", clock=FakeClock(store.clock.now()))
    try:
        with twin.unit_of_work():
            twin.upsert_case(make_case(case_id="before"))
            for case in cases:
                twin.upsert_case(case)
        for case in cases:
            got, want = store.get_case(case.key), twin.get_case(case.key)
            assert got is not None
            assert want is not None
            assert got.model_dump() == want.model_dump()
        assert [e.details for e in store.audit_entries()] == [
            e.details for e in twin.audit_entries()
        ]
    finally:
        twin.close()
    report = verify_chain(store.audit_entries(), store.audit_head())
    assert report.intact, report.describe()
    assert store.count_cases_by_state()[CaseState.done] == 4
    assert store.count_cases_by_state()[CaseState.new] == 9


def test_import_of_a_stored_case_writes_nothing(store: SqliteStore) -> None:
    store.import_cases(_cases(3))
    head = store.audit_head()
    with pytest.raises(StoreError, match="already stored"):
        store.import_cases([make_case(case_id="fresh"), make_case(case_id="C1", order_id="O1")])
    assert store.get_case(("taobao", make_case().shop_id, "fresh")) is None
    assert store.audit_head() == head


def test_import_nothing_is_a_no_op(store: SqliteStore) -> None:
    assert store.import_cases([]) == 0
    assert store.audit_head() is None
