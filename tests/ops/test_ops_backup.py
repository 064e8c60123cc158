"""`refund-connector backup`: a consistent, verified copy while another writer keeps going."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from ops_helpers import decide, invoke, write_until_stopped

from connector.audit import verify_chain
from connector.backup import BackupError, backup_database
from connector.effects import EffectKind
from connector.paths import db_path
from connector.store import Store
from connector.store.sqlite import SqliteStore


def _copy_head(path: Path) -> tuple[int, bool]:
    copy = SqliteStore.open_read_only_file(path)
    try:
        head = copy.audit_head()
        report = verify_chain(copy.audit_entries(), head)
        return (head.seq if head else 0), report.intact
    finally:
        copy.close()


def _process_writer(state_dir: Path) -> tuple[Any, Any, Callable[[], None]]:
    ctx = multiprocessing.get_context("spawn")
    started, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=write_until_stopped, args=(str(state_dir), started, stop))
    proc.start()

    def finish() -> None:
        stop.set()
        proc.join(timeout=60)
        assert proc.exitcode == 0

    return started, stop, finish


def _thread_writer(state_dir: Path) -> tuple[Any, Any, Callable[[], None]]:
    started, stop = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=write_until_stopped,
        args=(str(state_dir), started, stop),
        daemon=True,
    )
    thread.start()

    def finish() -> None:
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive()

    return started, stop, finish


@pytest.mark.parametrize("writer", [_process_writer, _thread_writer], ids=["process", "thread"])
def test_backup_while_another_writer_commits(
    cli: typer.Typer,
    store: Store,
    state_dir: Path,
    tmp_path: Path,
    writer: Callable[[Path], tuple[Any, Any, Callable[[], None]]],
    progress: Any,
) -> None:
    decide(store, "R1", EffectKind.agree_refund)
    started, stop, finish = writer(state_dir)
    try:
        progress("waiting for the other writer's first commit", force=True)
        assert started.wait(timeout=60), "the writer never committed"
        copies = []
        for n in range(3):
            progress(f"backup {n + 1} of 3 while the writer commits")
            target = tmp_path / f"copy-{n}.db"
            result = invoke(cli, "backup", str(target), "--state-dir", str(state_dir))
            assert result.exit_code == 0, result.output
            assert "integrity_check: ok" in result.stdout
            assert "chain intact" in result.stdout
            assert not stop.is_set()
            copies.append(target)
    finally:
        finish()
    seqs = []
    for target in copies:
        seq, intact = _copy_head(target)
        assert intact
        seqs.append(seq)
        with sqlite3.connect(target) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert not Path(f"{target}-wal").exists()
    live = store.audit_head()
    assert live is not None
    assert seqs == sorted(seqs)
    assert seqs[0] > 2  # the seeded entries plus at least one from the running writer
    assert seqs[-1] <= live.seq
    assert not list(tmp_path.glob("*.partial"))


def test_backup_reports_entries_and_chain_head(
    cli: typer.Typer, store: Store, state_dir: Path, tmp_path: Path
) -> None:
    decide(store, "R1", EffectKind.agree_refund)
    head = store.audit_head()
    assert head is not None
    target = tmp_path / "b.db"
    result = invoke(cli, "backup", str(target), "--state-dir", str(state_dir))
    assert result.exit_code == 0, result.output
    assert f"{head.seq} entries, chain intact" in result.stdout
    assert f"chain head: seq {head.seq}, hash {head.hash}" in result.stdout
    assert _copy_head(target) == (head.seq, True)


def test_backup_refuses_to_overwrite_without_force(
    cli: typer.Typer, store: Store, state_dir: Path, tmp_path: Path
) -> None:
    decide(store, "R1", EffectKind.agree_refund)
    target = tmp_path / "existing.db"
    target.write_text("keep me")
    result = invoke(cli, "backup", str(target), "--state-dir", str(state_dir))
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert "--force" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert target.read_text() == "keep me"
    assert not list(tmp_path.glob("*.partial"))

    forced = invoke(cli, "backup", str(target), "--force", "--state-dir", str(state_dir))
    assert forced.exit_code == 0, forced.output
    assert _copy_head(target)[1]


def test_backup_without_a_database_fails_clearly(cli: typer.Typer, tmp_path: Path) -> None:
    result = invoke(cli, "backup", str(tmp_path / "b.db"), "--state-dir", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "no connector database" in result.stderr
    assert not (tmp_path / "b.db").exists()


def test_a_copy_with_a_broken_chain_is_never_put_in_place(
    store: Store, state_dir: Path, tmp_path: Path
) -> None:
    decide(store, "R1", EffectKind.agree_refund)
    store.close()
    with sqlite3.connect(db_path(state_dir)) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET actor = 'human:mallory' WHERE seq = 1")
    target = tmp_path / "b.db"
    with pytest.raises(BackupError, match="BROKEN at entry seq 1"):
        backup_database(db_path(state_dir), target)
    assert not target.exists()
    assert not list(tmp_path.glob("*.partial"))
