"""Taking a state directory to serve from: own it, check it, open it; mark a clean stop.

``open_for_service`` is what ``run``, ``once`` and ``demo`` call before anything else touches the
database: it takes the state lock (``connector.statelock``), refuses a missing database where the
directory holds other state of the connector's (unless ``init``), and before migrations run it
checks the header, the schema version and the audit chain's tail, plus a bounded
``PRAGMA quick_check`` when the last stop was not clean. A clean stop writes
``clean-stop.json`` recording the database file's size and modification time; a start that does
not find it, or finds the file changed since (damaged or replaced while stopped), counts as
unclean. Guarded by tests/ops/test_startup_checks.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from connector.clock import Clock
from connector.errors import StoreError
from connector.paths import db_path
from connector.statelock import LOCK_FILE_NAME, StateLock, acquire
from connector.store import checks
from connector.store.sqlite import SqliteStore

log = logging.getLogger(__name__)

CLEAN_STOP_FILE = "clean-stop.json"
ASIDE_PREFIX = "connector.db.before-restore-"


def clean_stop_path(state_dir: Path) -> Path:
    return state_dir / CLEAN_STOP_FILE


def _fingerprint(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


def mark_clean_stop(state_dir: Path) -> None:
    """After the store is closed: the next start may skip the quick check."""
    path = db_path(state_dir)
    if not path.is_file():
        return
    marker = clean_stop_path(state_dir)
    tmp = marker.with_suffix(".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(_fingerprint(path), handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, marker)


def unclean_reason(state_dir: Path) -> str | None:
    """Why the last stop does not count as clean, or None when it does."""
    path = db_path(state_dir)
    marker = clean_stop_path(state_dir)
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "the last stop was not clean (no clean-stop marker)"
    except (OSError, ValueError):
        return "the clean-stop marker cannot be read"
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return "a write-ahead log was left behind"
    if recorded != _fingerprint(path):
        return "the database file changed while the connector was stopped"
    return None


def other_state(state_dir: Path, lock: StateLock | None) -> list[str]:
    """Files showing the connector has served from this directory before."""
    found = []
    if lock is not None and lock.existed_before:
        found.append(LOCK_FILE_NAME)
    names = (CLEAN_STOP_FILE, "connector.db-wal", "connector.db-shm")
    found.extend(name for name in names if (state_dir / name).exists())
    found += sorted(p.name for p in state_dir.glob(f"{ASIDE_PREFIX}*"))
    return found


@dataclass
class ServingState:
    """The held lock and the opened store; ``close(clean=True)`` on an orderly stop."""

    lock: StateLock
    store: SqliteStore
    quick_check: checks.QuickCheckResult | None = None
    notes: list[str] = field(default_factory=list)

    def close(self, *, clean: bool) -> None:
        try:
            self.store.close()
            if clean:
                mark_clean_stop(self.lock.state_dir)
        finally:
            self.lock.release()


def _precheck(path: Path, *, unclean: str | None) -> checks.QuickCheckResult | None:
    """Checks on the existing file before anything (migrations included) writes to it."""
    checks.check_header(path)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        msg = f"cannot open {path}: {exc}"
        raise StoreError(msg) from exc
    try:
        checks.check_schema_version(conn, path)
        try:
            tables = {
                str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as exc:
            msg = f"{path} cannot be read ({exc}); {checks.RESTORE_HINT}"
            raise checks.DamagedDatabaseError(msg) from exc
        result = None
        if unclean is not None:
            log.warning("running a bounded quick_check", extra={"why": unclean})
            result = checks.require_quick_check(conn, path)
            if not result.finished:
                log.warning(
                    "quick_check did not finish within its budget; run `refund-connector check`",
                    extra={"seconds": round(result.seconds, 1)},
                )
        if "audit_log" in tables and "audit_head" in tables:
            checks.check_audit_tail(conn, path)
        return result
    finally:
        conn.close()


def open_for_service(
    state_dir: Path,
    *,
    purpose: str,
    clock: Clock | None = None,
    init: bool = False,
    lock: StateLock | None = None,
) -> ServingState:
    """Own ``state_dir`` and open its database once it passed the start checks.

    Raises ``StateLockedError`` (someone else serves it) or ``StoreError`` naming what is wrong
    and how to restore; on any refusal nothing was written and the lock is released.
    """
    held = lock or acquire(state_dir, purpose)
    try:
        path = db_path(state_dir)
        result = None
        notes: list[str] = []
        if not path.exists():
            others = other_state(state_dir, held)
            if others and not init:
                msg = (
                    f"{path} is missing but {state_dir} holds the connector's other state "
                    f"({', '.join(others)}): refusing to begin a new history and list every "
                    "case again; restore a backup with `refund-connector restore BACKUP`, or "
                    "pass --init to start a new database"
                )
                raise checks.DamagedDatabaseError(msg)
        elif path.is_file() and not (init and path.stat().st_size == 0):
            reason = unclean_reason(state_dir)
            result = _precheck(path, unclean=reason)
            if reason is not None:
                notes.append(f"{reason}: quick_check {'ok' if result else 'skipped'}")
        with contextlib.suppress(FileNotFoundError):
            clean_stop_path(state_dir).unlink()
        store = SqliteStore.open(state_dir, clock=clock, init=init)
    except BaseException:
        if lock is None:
            held.release()
        raise
    return ServingState(lock=held, store=store, quick_check=result, notes=notes)
