"""The audit log: same-transaction appends, redaction, append-only, tamper evidence, one chain."""

from __future__ import annotations

import multiprocessing
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from store_helpers import make_case, write_from_another_process

from connector.audit import AuditRedactionError, VerifyReport, verify_chain
from connector.clock import FakeClock
from connector.errors import StoreError
from connector.store.sqlite import SqliteStore

REPO = Path(__file__).resolve().parents[2]
Tamper = Callable[..., VerifyReport]


def _fill(store: SqliteStore, cases: int = 4) -> None:
    for n in range(1, cases + 1):
        store.upsert_case(make_case(case_id=f"R{n}"))


def test_append_needs_a_unit_of_work(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="same unit of work"):
        store.append_audit("escalated", actor="system", key=("taobao", "s1", "R1"))
    with store.unit_of_work():
        entry = store.append_audit("escalated", actor="system", key=("taobao", "s1", "R1"))
    assert entry.seq == 1
    assert entry.prev_hash == "0" * 64


@pytest.mark.parametrize(
    "details",
    [
        {"buyer_nick": "x"},
        {"buyer_name": "x"},
        {"name": "x"},
        {"note": {"receiverMobile": "x"}},
        {"items": [{"phone": "x"}]},
        {"address": "x"},
        {"session": "x"},
        {"app_secret": "x"},
        {"access_token": "x"},
    ],
)
def test_personal_data_and_secrets_are_refused(
    store: SqliteStore, details: dict[str, object]
) -> None:
    with pytest.raises(AuditRedactionError, match="refused keys"), store.unit_of_work():
        store.append_audit("human_action", actor="human:ann", details=details)
    assert store.audit_head() is None


def test_ordinary_details_pass(store: SqliteStore) -> None:
    with store.unit_of_work():
        store.append_audit(
            "human_action",
            actor="human:ann",
            details={"rule_id": "R02", "carrier": "SF", "buyer_id": "b-anon", "amount": 100},
        )
    assert store.audit_head() is not None


def test_bad_actor_is_refused(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="audit actor"), store.unit_of_work():
        store.append_audit("human_action", actor="ann")


def test_rollback_leaves_no_audit_entry(store: SqliteStore) -> None:
    def upsert_then_fail() -> None:
        with store.unit_of_work():
            store.upsert_case(make_case())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        upsert_then_fail()
    assert store.audit_head() is None
    assert list(store.audit_entries()) == []
    assert store.get_case(("taobao", "s1", "R1")) is None


def test_database_refuses_update_and_delete_of_audit_rows(store: SqliteStore) -> None:
    _fill(store, 1)
    with pytest.raises(StoreError, match="append-only"), store.unit_of_work():
        store._write("UPDATE audit_log SET actor = 'system'")
    with pytest.raises(StoreError, match="append-only"), store.unit_of_work():
        store._write("DELETE FROM audit_log")


def test_no_code_path_updates_or_deletes_audit_rows() -> None:
    pattern = re.compile(r"(UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+audit_log", re.IGNORECASE)
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("connector", "adapters", "mocks")
        if (REPO / folder).is_dir()
        for path in (REPO / folder).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_intact_chain_verifies(store: SqliteStore) -> None:
    _fill(store)
    report = verify_chain(store.audit_entries(), store.audit_head())
    assert report.intact
    assert report.describe() == "4 entries, chain intact"
    assert verify_chain([], None).describe() == "0 entries, chain intact"


# tampering, always on a copy ------------------------------------------------------------------
@pytest.fixture
def tampered(store: SqliteStore, tmp_path: Path) -> Tamper:
    """Yields ``tamper(sql...) -> report`` running SQL on a fresh copy of a 6-entry log."""
    _fill(store, 6)
    counter = iter(range(100))

    def tamper(*statements: str) -> VerifyReport:
        copy_dir = tmp_path / f"copy{next(counter)}"
        copy_dir.mkdir()
        target = sqlite3.connect(copy_dir / "connector.db")
        with store._lock:
            store._conn.backup(target)
        target.execute("DROP TRIGGER audit_log_no_update")
        target.execute("DROP TRIGGER audit_log_no_delete")
        for sql in statements:
            target.execute(sql)
        target.commit()
        target.close()
        copy = SqliteStore.open_read_only(copy_dir)
        report = verify_chain(copy.audit_entries(), copy.audit_head())
        copy.close()
        return report

    return tamper


def test_edited_entry_is_named(tampered: Tamper) -> None:
    report = tampered('UPDATE audit_log SET details_json = \'{"version":"v9"}\' WHERE seq = 3')
    assert not report.intact
    assert report.broken_seq == 3
    assert "edited" in report.describe()


def test_edited_entry_with_recomputed_hash_breaks_the_next_link(tampered: Tamper) -> None:
    report = tampered("UPDATE audit_log SET hash = 'f' || substr(hash, 2) WHERE seq = 3")
    assert report.broken_seq == 3  # its own hash no longer matches its content
    report = tampered(
        "UPDATE audit_log SET hash = (SELECT hash FROM audit_log WHERE seq = 5) WHERE seq = 3"
    )
    assert report.broken_seq == 3


def test_deleted_entry_is_named(tampered: Tamper) -> None:
    report = tampered("DELETE FROM audit_log WHERE seq = 4")
    assert report.broken_seq == 4
    assert "seq 4 deleted" in report.describe()


def test_deleted_tail_is_caught_by_the_head(tampered: Tamper) -> None:
    report = tampered("DELETE FROM audit_log WHERE seq >= 5")
    assert report.broken_seq == 5
    assert "ends at seq 4" in report.describe()


def test_reordered_entries_are_named(tampered: Tamper) -> None:
    report = tampered(
        "UPDATE audit_log SET seq = -2 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = -2",
    )
    assert report.broken_seq == 2
    assert not report.intact


def test_inserted_entry_is_named(tampered: Tamper) -> None:
    shift = [
        "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 4",
        "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100",
    ]
    report = tampered(
        *shift,
        "INSERT INTO audit_log SELECT 4, at, actor, 'human_action', platform, shop_id, case_id, "
        "'{}', (SELECT hash FROM audit_log WHERE seq = 3), hash FROM audit_log WHERE seq = 3",
    )
    assert report.broken_seq == 4
    report = tampered(
        "INSERT INTO audit_log SELECT 7, at, actor, event, platform, shop_id, case_id, "
        "details_json, prev_hash, hash FROM audit_log WHERE seq = 6"
    )
    assert report.broken_seq == 7


def test_second_process_writing_keeps_one_linear_chain(state_dir: Path, clock: FakeClock) -> None:
    store = SqliteStore.open(state_dir, clock=clock)
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=write_from_another_process, args=(str(state_dir), n, 25))
        for n in range(2)
    ]
    for worker in workers:
        worker.start()
    for n in range(25):
        store.upsert_case(make_case(shop_id="main", case_id=f"M{n}"))
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    entries = list(store.audit_entries())
    assert len(entries) == 25 + 2 * 25 * 2
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert verify_chain(entries, store.audit_head()).intact
    store.close()


def test_copy_of_the_state_dir_is_independent(store: SqliteStore, tmp_path: Path) -> None:
    _fill(store, 2)
    store.close()
    shutil.copytree(store.path.parent, tmp_path / "copied")
    copy = SqliteStore.open_read_only(tmp_path / "copied")
    assert len(list(copy.audit_entries())) == 2
    copy.close()


def test_well_forged_append_is_caught_by_the_head(store: SqliteStore, tmp_path: Path) -> None:
    from connector.audit import chain_hash, entry_body

    _fill(store, 2)
    head = store.audit_head()
    assert head is not None
    body = entry_body(
        seq=3,
        at="2026-11-12T02:00:00.000000+00:00",
        actor="human:mallory",
        event="human_action",
        platform=None,
        shop_id=None,
        case_id=None,
        details={},
    )
    copy_dir = tmp_path / "forged"
    copy_dir.mkdir()
    target = sqlite3.connect(copy_dir / "connector.db")
    with store._lock:
        store._conn.backup(target)
    target.execute(
        "INSERT INTO audit_log VALUES (3, ?, 'human:mallory', 'human_action', NULL, NULL, NULL, "
        "'{}', ?, ?)",
        (body["at"], head.hash, chain_hash(head.hash, body)),
    )
    target.commit()
    target.close()
    copy = SqliteStore.open_read_only(copy_dir)
    report = verify_chain(copy.audit_entries(), copy.audit_head())
    copy.close()
    assert report.broken_seq == 3
    assert "appended without the writer" in report.describe()


def test_references_pass_and_phone_numbers_in_text_are_masked(store: SqliteStore) -> None:
    with store.unit_of_work():
        entry = store.append_audit(
            "human_action",
            actor="human:ann",
            details={"address_id": "A7", "note": "buyer wrote 13812345678", "receiver_id": "x"},
        )
    assert entry.details == {
        "address_id": "A7",
        "note": "buyer wrote [redacted]",
        "receiver_id": "x",
    }
    with pytest.raises(AuditRedactionError), store.unit_of_work():
        store.append_audit("human_action", actor="human:ann", details={"session_id": "s"})
