"""Opening the store: durability pragmas checked, migrations once, state directory resolution."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from connector.clock import FakeClock
from connector.errors import StoreError
from connector.paths import db_path, default_state_dir, resolve_state_dir
from connector.store import open_read_only_store, open_store
from connector.store.migrations import MIGRATION_SET, migrations
from connector.store.sqlite import SqliteStore, _check_pragmas


def test_fresh_store_runs_in_wal_with_synchronous_full(store: SqliteStore) -> None:
    assert store.pragma("journal_mode") == "wal"
    assert store.pragma("synchronous") == 2
    assert store.pragma("busy_timeout") == 10_000
    assert store.pragma("foreign_keys") == 1
    assert store.path.name == "connector.db"


def test_database_created_without_wal_is_switched_to_wal(tmp_path: Path, clock: FakeClock) -> None:
    path = db_path(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("CREATE TABLE unrelated (x)")
    conn.commit()
    conn.close()
    with SqliteStore.open(tmp_path, clock=clock) as store:
        assert store.pragma("journal_mode") == "wal"
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    check.close()


def test_a_database_that_cannot_use_wal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    read_only = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
    with pytest.raises(StoreError, match="refuses to run without"):
        _check_pragmas(read_only, 1000)
    read_only.close()


def test_in_memory_database_is_refused() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    with pytest.raises(StoreError, match="journal_mode is 'memory'"):
        _check_pragmas(conn, 1000)


def test_migrations_apply_once_and_are_recorded(state_dir: Path, clock: FakeClock) -> None:
    first = SqliteStore.open(state_dir, clock=clock)
    applied = first.applied_migrations()
    assert applied[:3] == ["0001_initial", "0002_carrier_claims", "0003_claimed_version"]
    assert "0004_console_accounts" in applied
    assert first.migrate() == []
    first.close()
    second = SqliteStore.open(state_dir, clock=clock)
    assert second.pending_migrations() == []
    rows = second.db.execute(
        "SELECT count(*) FROM _sqlite_migrations WHERE migration_set = ?", [MIGRATION_SET]
    ).fetchone()[0]
    assert rows == len(migrations.applied(second.db)) == len(applied)
    second.close()


def test_open_store_returns_the_protocol_implementation(state_dir: Path) -> None:
    store = open_store(state_dir)
    assert store.audit_head() is None
    store.close()
    reader = open_read_only_store(state_dir)
    with pytest.raises(StoreError, match="read-only"), reader.unit_of_work():
        pass
    reader.close()


def test_read_only_open_refuses_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no connector database at .*connector\.db"):
        open_read_only_store(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_state_dir_precedence(tmp_path: Path) -> None:
    env = {"REFUND_CONNECTOR_STATE_DIR": str(tmp_path / "env"), "XDG_STATE_HOME": "/xdg"}
    assert resolve_state_dir(tmp_path / "cli", env) == tmp_path / "cli"
    assert resolve_state_dir(None, env) == tmp_path / "env"
    assert default_state_dir({"XDG_STATE_HOME": "/xdg"}) == Path("/xdg/refund-connector")
    assert default_state_dir({"XDG_STATE_HOME": "relative"}) == (
        Path.home() / ".local/state/refund-connector"
    )
    assert default_state_dir({}) == Path.home() / ".local/state/refund-connector"


def test_state_dir_is_created_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    SqliteStore.open(target).close()
    assert (target / "connector.db").is_file()
    assert target.stat().st_mode & 0o077 == 0
