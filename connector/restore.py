"""Put a backup back as the state directory's database, keeping the current one aside.

Issue 14: ``backup`` was good but nothing performed or documented a restore. ``restore_database``
verifies the backup (header, schema not newer than this code, ``integrity_check``, the whole
audit chain), takes the state lock (so it refuses while a daemon serves the directory), moves
the current database and its WAL aside, copies the backup in owner-only through a temporary file
and a rename, and marks the effects that were in flight in the backup *unknown*, so their cases
are re-read before anything is resent. The drill in docs/operating.md is performed by
tests/ops/test_restore.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from connector.audit import ChainHead, verify_chain
from connector.clock import Clock, SystemClock
from connector.errors import StoreError
from connector.paths import db_path, ensure_state_dir
from connector.startup import ASIDE_PREFIX, clean_stop_path
from connector.statelock import acquire
from connector.store import checks
from connector.store.sqlite import SqliteStore, connect_read_only


class RestoreError(StoreError):
    """The backup was not restored; the state directory is as it was."""


@dataclass(frozen=True, slots=True)
class RestoreReport:
    backup: Path
    target: Path
    kept_aside: Path | None
    head: ChainHead | None
    last_audit_at: str | None
    open_effects: int
    marked_unknown: int

    def describe(self) -> str:
        head = f"audit seq {self.head.seq}" if self.head else "an empty audit log"
        when = f", last entry at {self.last_audit_at} UTC" if self.last_audit_at else ""
        aside = (
            f"the previous database was kept as {self.kept_aside} (delete it once the service "
            "runs well)"
            if self.kept_aside
            else "there was no previous database"
        )
        return "\n".join(
            [
                f"restored {self.target} from {self.backup} ({head}{when}); {aside}.",
                "What happens next, when you start the service again:",
                f"- {self.marked_unknown} effects that were in flight in the backup are marked "
                "unknown: their cases are re-read from the platform before any resend.",
                f"- {self.open_effects} effects pending in the backup are sent only if the "
                "case still matches; each write carries the case version it was decided on, and "
                "the platform refuses a write based on a version that has moved on.",
                "- Decisions and effects made after the backup are not in this database: every "
                "open case is listed again and decided from the platform's current state.",
                "- Start it with the same command as before (no --init): "
                "`refund-connector run --config ...`.",
            ]
        )


def verify_backup(path: Path) -> tuple[ChainHead | None, str | None]:
    """Integrity and chain of a backup file (an older schema is fine: the start migrates it)."""
    if not path.is_file():
        msg = f"no backup file at {path}"
        raise RestoreError(msg)
    try:
        checks.check_header(path)
        conn = connect_read_only(path, check_same_thread=False)
    except StoreError as exc:
        raise RestoreError(f"the backup {path} is not usable: {exc}") from exc
    try:
        checks.check_schema_version(conn, path)
        rows = conn.execute("PRAGMA integrity_check(20)").fetchall()
        integrity = "; ".join(str(r[0]) for r in rows)
        if integrity != "ok":
            msg = f"the backup {path} failed PRAGMA integrity_check: {integrity}"
            raise RestoreError(msg)
        store = SqliteStore(conn, clock=SystemClock(), path=path, read_only=True)
        head = store.audit_head()
        report = verify_chain(store.audit_entries(), head)
        if not report.intact:
            msg = f"the backup {path} has a broken audit chain: {report.describe()}"
            raise RestoreError(msg)
        last = conn.execute("SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    except sqlite3.DatabaseError as exc:
        msg = f"the backup {path} cannot be read: {exc}"
        raise RestoreError(msg) from exc
    except checks.NewerSchemaError as exc:
        raise RestoreError(str(exc)) from exc
    finally:
        conn.close()
    return head, (str(last[0])[:19] if last else None)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _move_aside(target: Path, stamp: str) -> Path | None:
    if not target.exists():
        return None
    aside = target.with_name(f"{ASIDE_PREFIX}{stamp}")
    os.replace(target, aside)
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{target}{suffix}")
        if extra.exists():
            os.replace(extra, Path(f"{aside}{suffix}"))
    return aside


def restore_database(backup: Path, state_dir: Path, *, clock: Clock | None = None) -> RestoreReport:
    """Verify ``backup``, then make it the state directory's database (see the module doc)."""
    backup = backup.expanduser()
    head, last_at = verify_backup(backup)
    ensure_state_dir(state_dir)
    target = db_path(state_dir)
    if target.exists() and backup.resolve() == target.resolve():
        msg = "the backup is the live database itself"
        raise RestoreError(msg)
    with acquire(state_dir, "restore"):
        fd, tmp_name = tempfile.mkstemp(prefix=".connector.db.", suffix=".restoring", dir=state_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, backup.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = _move_aside(target, stamp)
            os.replace(tmp, target)
            _fsync_dir(state_dir)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        with contextlib.suppress(FileNotFoundError):
            clean_stop_path(state_dir).unlink()  # the next start runs the quick check
        store = SqliteStore.open(state_dir, clock=clock or SystemClock())
        try:
            marked = store.recover_in_flight()
            open_effects = int(
                store.db.execute(
                    "SELECT count(*) FROM effects WHERE status = 'pending'"
                ).fetchone()[0]
            )
        finally:
            store.close()
    return RestoreReport(
        backup=backup,
        target=target,
        kept_aside=aside,
        head=head,
        last_audit_at=last_at,
        open_effects=open_effects,
        marked_unknown=len(marked),
    )
