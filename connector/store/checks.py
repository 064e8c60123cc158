"""What is checked before a database is served, and what ``refund-connector check`` runs.

Found by issue 14: a damaged ``connector.db`` was served, a 0-byte one silently became a new empty
database (the whole history gone, every case listed again), and a database written by a newer
version was opened and migrated. So every open checks, cheaply, that

- the file is a SQLite database (its 16-byte header), and not empty unless ``--init`` was given;
- its schema is not newer than this program (an applied migration this code does not know);

and every start of the service also checks the audit chain's tail and, after an unclean stop,
runs ``PRAGMA quick_check`` within a time budget (a start stays fast with millions of cases).
``full_check`` is the thorough one: ``integrity_check``, foreign keys and the whole chain.
Guarded by tests/store/test_store_checks.py.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from connector.audit import GENESIS_HASH, AuditEntry, chain_hash, entry_body, verify_chain
from connector.errors import StoreError
from connector.store.migrations import MIGRATION_SET, migrations

SQLITE_HEADER = b"SQLite format 3\x00"
RESTORE_HINT = (
    "run `refund-connector check` for the details; to go back to a backup: "
    "`refund-connector restore BACKUP` (docs/operating.md, Restoring a backup)"
)
TAIL_ENTRIES = 64
"""Audit entries re-hashed at every start (the whole chain is ``audit verify``'s job)."""
QUICK_CHECK_ERRORS = 10
QUICK_CHECK_BUDGET_S = 20.0
"""Most time a start spends on ``quick_check`` after an unclean stop; then it goes on, warning."""


class DamagedDatabaseError(StoreError):
    """The database is not fit to serve; the message names what is wrong and how to restore."""


class EmptyDatabaseError(DamagedDatabaseError):
    """A 0-byte database file: refused unless the operator asks for a new one (``--init``)."""


class NewerSchemaError(StoreError):
    """The database was written by a newer version of the connector than this one."""


def known_migrations() -> list[str]:
    return [m.name for m in migrations._migrations]


def check_header(path: Path) -> None:
    """Refuse a file that is empty or not a SQLite database at all (cheap: reads 16 bytes)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise StoreError(msg) from exc
    if not head:
        msg = (
            f"{path} is empty (0 bytes): refusing to start on it, which would begin a new "
            "history and list every case again; restore a backup with "
            "`refund-connector restore BACKUP`, or pass --init to start a new database"
        )
        raise EmptyDatabaseError(msg)
    if head != SQLITE_HEADER:
        msg = f"{path} is not a SQLite database (its header is wrong); {RESTORE_HINT}"
        raise DamagedDatabaseError(msg)


def check_schema_version(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a database carrying migrations this program does not know, naming both versions."""
    try:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            (migrations.migrations_table,),
        ).fetchone()
        rows = (
            conn.execute(
                f"SELECT name FROM {migrations.migrations_table} "  # noqa: S608 - fixed name
                "WHERE migration_set = ? ORDER BY rowid",
                (MIGRATION_SET,),
            ).fetchall()
            if exists
            else []
        )
    except sqlite3.DatabaseError as exc:
        msg = f"{path} cannot be read ({exc}); {RESTORE_HINT}"
        raise DamagedDatabaseError(msg) from exc
    applied = [str(r[0]) for r in rows]
    known = known_migrations()
    unknown = [name for name in applied if name not in set(known)]
    if unknown:
        msg = (
            f"{path} has schema version {len(applied)} (latest migration {applied[-1]!r}), "
            f"newer than this program's version {len(known)} (latest {known[-1]!r}; unknown: "
            f"{', '.join(unknown)}): upgrade refund-connector, or restore a backup taken with "
            "this version"
        )
        raise NewerSchemaError(msg)


def _entry(row: sqlite3.Row | tuple[object, ...]) -> AuditEntry:
    import json

    seq, at, actor, event, platform, shop_id, case_id, details, prev_hash, digest = row
    return AuditEntry(
        seq=int(str(seq)),
        at=str(at),
        actor=str(actor),
        event=str(event),
        platform=None if platform is None else str(platform),
        shop_id=None if shop_id is None else str(shop_id),
        case_id=None if case_id is None else str(case_id),
        details=json.loads(str(details)),
        prev_hash=str(prev_hash),
        hash=str(digest),
    )


def check_audit_tail(conn: sqlite3.Connection, path: Path, count: int = TAIL_ENTRIES) -> None:
    """The last ``count`` audit entries link up, hash right and end at the stored head."""
    try:
        head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        rows = conn.execute(
            "SELECT seq, at, actor, event, platform, shop_id, case_id, details_json, "
            "prev_hash, hash FROM audit_log ORDER BY seq DESC LIMIT ?",
            (count,),
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        msg = f"{path}: the audit log cannot be read ({exc}); {RESTORE_HINT}"
        raise DamagedDatabaseError(msg) from exc
    if not rows:
        if head is not None:
            msg = f"{path}: the audit head names seq {head[0]} but the log is empty; {RESTORE_HINT}"
            raise DamagedDatabaseError(msg)
        return
    try:
        entries = [_entry(r) for r in reversed(rows)]
    except (ValueError, TypeError) as exc:
        msg = f"{path}: an audit entry near the end cannot be read ({exc}); {RESTORE_HINT}"
        raise DamagedDatabaseError(msg) from exc
    first = entries[0]
    if first.seq == 1 and first.prev_hash != GENESIS_HASH:
        msg = f"{path}: audit entry 1 does not start from the genesis hash; {RESTORE_HINT}"
        raise DamagedDatabaseError(msg)
    prev = first.prev_hash
    for expected, entry in enumerate(entries, start=first.seq):
        body = entry_body(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            event=entry.event,
            platform=entry.platform,
            shop_id=entry.shop_id,
            case_id=entry.case_id,
            details=entry.details,
        )
        if entry.seq != expected or entry.prev_hash != prev or chain_hash(prev, body) != entry.hash:
            msg = (
                f"{path}: audit entry {entry.seq} does not fit the chain (rewritten, "
                f"reordered or damaged); {RESTORE_HINT}"
            )
            raise DamagedDatabaseError(msg)
        prev = entry.hash
    last = entries[-1]
    if head is None or int(head[0]) != last.seq or str(head[1]) != last.hash:
        msg = (
            f"{path}: the audit head does not match the last entry (seq {last.seq}); {RESTORE_HINT}"
        )
        raise DamagedDatabaseError(msg)


@dataclass(slots=True)
class QuickCheckResult:
    problems: list[str] = field(default_factory=list)
    finished: bool = True
    seconds: float = 0.0


@contextmanager
def _deadline(conn: sqlite3.Connection, budget_s: float) -> Iterator[list[bool]]:
    """Interrupt the statement once ``budget_s`` has passed (SQLite's progress handler)."""
    stop_at = time.monotonic() + budget_s
    hit = [False]

    def progress() -> int:
        if time.monotonic() > stop_at:
            hit[0] = True
            return 1
        return 0

    conn.set_progress_handler(progress, 10_000)
    try:
        yield hit
    finally:
        conn.set_progress_handler(None, 0)


def quick_check(
    conn: sqlite3.Connection,
    *,
    max_errors: int = QUICK_CHECK_ERRORS,
    budget_s: float = QUICK_CHECK_BUDGET_S,
) -> QuickCheckResult:
    """``PRAGMA quick_check(N)`` stopped after ``budget_s``: bounded in problems and in time."""
    started = time.monotonic()
    result = QuickCheckResult()
    with _deadline(conn, budget_s) as hit:
        try:
            rows = conn.execute(f"PRAGMA quick_check({int(max_errors)})").fetchall()
        except sqlite3.OperationalError as exc:
            if not hit[0]:
                result.problems.append(str(exc))
            rows = []
        except sqlite3.DatabaseError as exc:
            result.problems.append(str(exc))
            rows = []
    result.finished = not hit[0]
    result.problems += [str(r[0]) for r in rows if str(r[0]) != "ok"]
    result.seconds = time.monotonic() - started
    return result


def require_quick_check(conn: sqlite3.Connection, path: Path) -> QuickCheckResult:
    result = quick_check(conn)
    if result.problems:
        shown = "; ".join(result.problems[:3])
        msg = f"{path} failed PRAGMA quick_check: {shown}; {RESTORE_HINT}"
        raise DamagedDatabaseError(msg)
    return result


@dataclass(slots=True)
class FullCheckReport:
    """What ``refund-connector check`` found; ``ok`` when there is nothing to fix."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def full_check(path: Path) -> FullCheckReport:
    """Header, schema version, ``integrity_check``, ``foreign_key_check`` and the whole chain."""
    from connector.store.sqlite import SqliteStore

    report = FullCheckReport()
    try:
        store = SqliteStore.open_read_only_file(path)
    except StoreError as exc:
        report.problems.append(str(exc))
        return report
    try:
        conn = store.db.conn
        try:
            rows = conn.execute("PRAGMA integrity_check(100)").fetchall()
            integrity = [str(r[0]) for r in rows]
        except sqlite3.DatabaseError as exc:
            integrity = [str(exc)]
        if integrity == ["ok"]:
            report.lines.append("integrity_check: ok")
        else:
            report.problems.append("integrity_check: " + "; ".join(integrity[:5]))
        try:
            bad_keys = conn.execute("PRAGMA foreign_key_check").fetchall()
        except sqlite3.DatabaseError as exc:
            bad_keys = [(str(exc),)]
        if bad_keys:
            report.problems.append(f"foreign_key_check: {len(bad_keys)} rows point nowhere")
        else:
            report.lines.append("foreign_key_check: ok")
        try:
            chain = verify_chain(store.audit_entries(), store.audit_head())
            text = chain.describe()
            (report.lines if chain.intact else report.problems).append(f"audit: {text}")
        except (StoreError, sqlite3.DatabaseError) as exc:
            report.problems.append(f"audit: the log cannot be read ({exc})")
        report.lines.append(
            f"schema: version {len(store.applied_migrations())} of {len(known_migrations())}"
        )
    finally:
        store.close()
    return report
