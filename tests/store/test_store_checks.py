"""What an open refuses (issue 14): an empty file, a file that is not SQLite, a schema newer
than the code; what it makes owner-only; what the start checks and ``full_check`` find."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.clock import FakeClock
from connector.errors import StoreError
from connector.paths import db_path
from connector.store import checks, open_read_only_store, open_store
from connector.store.checks import DamagedDatabaseError, EmptyDatabaseError, NewerSchemaError
from connector.store.sqlite import SqliteStore


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _with_history(state_dir: Path, clock: FakeClock, entries: int = 5) -> None:
    with SqliteStore.open(state_dir, clock=clock) as store:
        for n in range(entries):
            with store.unit_of_work():
                store.append_audit("note", actor="system", details={"n": n})


def test_a_zero_byte_database_is_refused_unless_init(state_dir: Path, clock: FakeClock) -> None:
    state_dir.mkdir()
    db_path(state_dir).touch()
    with pytest.raises(EmptyDatabaseError, match=r"empty \(0 bytes\).*--init"):
        open_store(state_dir, clock=clock)
    assert db_path(state_dir).stat().st_size == 0  # nothing was written
    with pytest.raises(StoreError, match="empty"):
        open_read_only_store(state_dir)
    with SqliteStore.open(state_dir, clock=clock, init=True) as store:
        assert store.audit_head() is None
        assert store.pending_migrations() == []


def test_a_file_that_is_not_sqlite_is_refused_with_the_restore_command(
    state_dir: Path, clock: FakeClock
) -> None:
    state_dir.mkdir()
    db_path(state_dir).write_bytes(b"this is not a database" * 100)
    for opener in (
        lambda: open_store(state_dir, clock=clock),
        lambda: open_read_only_store(state_dir),
    ):
        with pytest.raises(DamagedDatabaseError, match="refund-connector restore BACKUP"):
            opener()


def test_a_newer_schema_is_refused_by_writers_and_readers_naming_both_versions(
    state_dir: Path, clock: FakeClock
) -> None:
    _with_history(state_dir, clock)
    known = checks.known_migrations()
    conn = sqlite3.connect(db_path(state_dir))
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
        "VALUES ('refund_connector', '0099_from_the_future', '2030-01-01')"
    )
    conn.commit()
    conn.close()
    for opener in (
        lambda: open_store(state_dir, clock=clock),
        lambda: open_read_only_store(state_dir),
    ):
        with pytest.raises(NewerSchemaError) as info:
            opener()
        message = str(info.value)
        assert f"schema version {len(known) + 1}" in message
        assert "0099_from_the_future" in message
        assert f"this program's version {len(known)} (latest {known[-1]!r}" in message


def test_database_wal_and_shm_are_owner_only_whatever_the_umask(
    state_dir: Path, clock: FakeClock, loose_umask: None
) -> None:
    store = SqliteStore.open(state_dir, clock=clock)
    try:
        with store.unit_of_work():
            store.append_audit("note", actor="system")
        for name in ("connector.db", "connector.db-wal", "connector.db-shm"):
            mode = (state_dir / name).stat().st_mode & 0o777
            assert mode == 0o600, f"{name} is {mode:04o}"
        assert state_dir.stat().st_mode & 0o777 == 0o700
    finally:
        store.close()


def test_an_existing_world_readable_database_is_made_owner_only(
    state_dir: Path, clock: FakeClock
) -> None:
    _with_history(state_dir, clock)
    db_path(state_dir).chmod(0o644)
    SqliteStore.open(state_dir, clock=clock).close()
    assert db_path(state_dir).stat().st_mode & 0o777 == 0o600


def test_the_audit_tail_check_finds_a_rewritten_entry(state_dir: Path, clock: FakeClock) -> None:
    _with_history(state_dir, clock, entries=10)
    conn = sqlite3.connect(db_path(state_dir))
    checks.check_audit_tail(conn, db_path(state_dir))  # intact
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET details_json = '{\"n\": 99}' WHERE seq = 8")
    conn.commit()
    with pytest.raises(DamagedDatabaseError, match="audit entry 8 does not fit"):
        checks.check_audit_tail(conn, db_path(state_dir))
    conn.close()


def test_the_audit_tail_check_finds_a_head_that_does_not_match(
    state_dir: Path, clock: FakeClock
) -> None:
    _with_history(state_dir, clock, entries=3)
    conn = sqlite3.connect(db_path(state_dir))
    conn.execute("UPDATE audit_head SET seq = 2")
    conn.commit()
    with pytest.raises(DamagedDatabaseError, match="audit head does not match"):
        checks.check_audit_tail(conn, db_path(state_dir))
    conn.close()


def test_quick_check_reports_damage_and_stops_at_its_time_budget(
    state_dir: Path, clock: FakeClock
) -> None:
    with SqliteStore.open(state_dir, clock=clock) as store, store.unit_of_work():
        for n in range(400):
            store.append_audit("note", actor="system", details={"text": "x" * 400, "n": n})
    path = db_path(state_dir)
    conn = sqlite3.connect(path)
    assert checks.quick_check(conn).problems == []
    assert not checks.quick_check(conn, budget_s=0.0).finished
    conn.close()
    with path.open("r+b") as handle:
        handle.seek(8 * 4096)
        handle.write(os.urandom(8192))
    conn = sqlite3.connect(path)
    result = checks.quick_check(conn)
    conn.close()
    assert result.finished
    assert result.problems
    report = checks.full_check(path)
    assert not report.ok
    assert any("integrity_check" in p for p in report.problems)
