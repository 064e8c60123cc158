"""`audit verify`, `backup` and the listings read a WAL database on read-only media (issue 14:
they could not, since SQLite wants to create the ``-shm`` file beside it)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from state_helpers import build_served_state, call, read_only_mount

from connector.audit import ChainHead
from connector.store.sqlite import SqliteStore


def _head(path: Path) -> int:
    with SqliteStore.open_read_only_file(path) as store:
        head = store.audit_head()
        return 0 if head is None else head.seq


def _frozen_with_a_wal(
    tmp_path: Path, names: tuple[str, ...], **audit: Any
) -> tuple[Path, ChainHead | None]:
    """A served state whose last audit entry (``audit``) is still in the WAL, checkpointing
    off, with ``names`` copied to ``tmp_path/frozen`` while it is open; and its audit head."""
    live = tmp_path / "live"
    build_served_state(live, cases=2)
    store = SqliteStore.open(live)
    try:
        store.db.execute("PRAGMA wal_autocheckpoint = 0")
        with store.unit_of_work():
            store.append_audit("note", actor="system", **audit)
        head = store.audit_head()
        frozen = tmp_path / "frozen"
        frozen.mkdir(mode=0o700)
        for name in names:
            shutil.copy(live / name, frozen / name)
    finally:
        store.close()
    return frozen, head


def test_read_commands_work_on_a_cleanly_stopped_database_on_read_only_media(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "live"
    build_served_state(live, cases=4)
    assert not (live / "connector.db-shm").exists()
    expected = _head(live / "connector.db")
    # A copy this process never opened: SQLite shares what it knows of an open inode within
    # one process, which would hide the read-only failure.
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    shutil.copy(live / "connector.db", state / "connector.db")
    with read_only_mount(state) as view:
        backup = call(capsys, "backup", str(tmp_path / "copy.db"), "--state-dir", str(view))
        assert backup.code == 0, backup.err
        verify = call(capsys, "audit", "verify", "--state-dir", str(view))
        assert verify.code == 0, verify.err
        assert f"{expected} entries, chain intact" in verify.out
        assert call(capsys, "effects", "list", "--state-dir", str(view)).code == 0
        assert call(capsys, "check", "--state-dir", str(view)).code == 0
    assert _head(tmp_path / "copy.db") == expected


def test_a_database_left_with_its_wal_is_read_whole_on_read_only_media(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As after a crash: the committed entries still in the WAL are part of what is read."""
    frozen, expected = _frozen_with_a_wal(
        tmp_path, ("connector.db", "connector.db-wal", "connector.db-shm"),
        details={"in": "the wal"},
    )
    assert expected is not None
    assert (frozen / "connector.db-wal").stat().st_size > 0
    with read_only_mount(frozen) as view:
        backup = call(capsys, "backup", str(tmp_path / "copy.db"), "--state-dir", str(view))
        assert backup.code == 0, backup.err
        verify = call(capsys, "audit", "verify", "--state-dir", str(view))
        assert verify.code == 0, verify.err
        assert f"{expected.seq} entries, chain intact" in verify.out
    assert _head(tmp_path / "copy.db") == expected.seq


def test_a_wal_without_its_shared_memory_on_read_only_media_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frozen, _ = _frozen_with_a_wal(tmp_path, ("connector.db", "connector.db-wal"))
    with read_only_mount(frozen) as view:
        verify = call(capsys, "audit", "verify", "--state-dir", str(view))
    assert verify.code != 0
    assert "Traceback" not in verify.text
    assert "copy the directory somewhere writable" in verify.err
    assert len(verify.err.strip().splitlines()) == 1
