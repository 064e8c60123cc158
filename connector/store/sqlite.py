"""The SQLite implementation of ``Store`` (sqlite-utils over one connection, one writer).

Durability: WAL with ``synchronous=FULL``, set and read back at open; a database that cannot be
put in WAL is refused. Concurrency: every write runs inside ``unit_of_work()``, which issues
``BEGIN IMMEDIATE`` so the write lock is held for the whole transaction; other processes (the
CLI) wait up to ``busy_timeout``. Within this process one lock serialises use of the connection,
so the store can be shared by the daemon's threads. The audit chain is therefore linear.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from connector import audit_events
from connector.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditEvent,
    ChainHead,
    UnreadableAuditEntryError,
    canonical_json,
    chain_hash,
    check_actor,
    clean_details,
    entry_body,
)
from connector.casechange import (
    PreviousVersion,
    changed_facts,
    classify_change,
    ended_reason,
    ends_sellers_part,
    fact_material,
    outlived_effects,
    state_on_arrival,
)
from connector.clock import Clock, SystemClock, to_utc
from connector.effects import (
    NOTICE_EFFECTS,
    OPEN_EFFECT_STATUSES,
    EffectKind,
    EffectStatus,
    effect_key,
)
from connector.errors import StoreError
from connector.models import TERMINAL_STATUSES, CaseStatus, QuarantinedCase, RefundCase
from connector.paths import db_path, ensure_state_dir
from connector.privacy import mask_free_text, scrub
from connector.store import checks
from connector.store.api import (
    BUYER_HISTORY_WINDOW,
    CLOSED_CASE_STATES,
    DEFAULT_GUARD_LEAD,
    ApprovalRecord,
    ApprovalStatus,
    CapEntryKind,
    CarrierClaimRecord,
    CaseChange,
    CaseKey,
    CaseNoteRecord,
    CaseRecord,
    CaseState,
    ChangeKind,
    ConsoleRole,
    ConsoleSessionRecord,
    ConsoleUserRecord,
    DecisionRecord,
    EffectRecord,
    EffectSpec,
    PauseRecord,
    PolicyInstallRecord,
    PolicyRole,
    PolicyVersionRecord,
    QuarantineRecord,
    ReasonCount,
    ReplayRow,
    ShadowDecisionRecord,
    ShopRecord,
    StoredVersion,
    TaskRecord,
    TaskStatus,
)
from connector.store.migrations import migrations

log = logging.getLogger(__name__)

_Params = Sequence[Any] | Mapping[str, Any]

DEFAULT_BUSY_TIMEOUT_MS = 10_000
_SYNCHRONOUS_FULL = 2


# Allowed effect transitions: target status -> statuses it may come from.
_EFFECT_FROM: dict[EffectStatus, frozenset[EffectStatus]] = {
    EffectStatus.in_flight: frozenset({EffectStatus.pending, EffectStatus.unknown}),
    EffectStatus.done: frozenset(
        {EffectStatus.pending, EffectStatus.in_flight, EffectStatus.unknown}
    ),
    EffectStatus.unknown: frozenset({EffectStatus.in_flight}),
    EffectStatus.pending: frozenset({EffectStatus.in_flight, EffectStatus.unknown}),
    EffectStatus.failed: frozenset(
        {EffectStatus.pending, EffectStatus.in_flight, EffectStatus.unknown}
    ),
    # in_flight -> superseded: the platform answered "stale version", so it was not applied.
    EffectStatus.superseded: frozenset(
        {EffectStatus.pending, EffectStatus.unknown, EffectStatus.in_flight}
    ),
    EffectStatus.cancelled: frozenset(
        {EffectStatus.pending, EffectStatus.unknown, EffectStatus.failed}
    ),
}


def ts(value: datetime) -> str:
    """The one text form of a time inside the database: UTC, microseconds, fixed width."""
    return to_utc(value).isoformat(timespec="microseconds")


def _ts_opt(value: datetime | None) -> str | None:
    return None if value is None else ts(value)


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _dt_req(value: str) -> datetime:
    return datetime.fromisoformat(value)


OPEN_CASE_CONDITION = "state NOT IN ({})".format(
    ", ".join(f"'{state}'" for state in sorted(CLOSED_CASE_STATES))
)
"""Written out, not bound: SQLite uses the partial index ``cases_guard`` (on open cases only)
only when the query's condition is literally the index's. With the closed states bound as
parameters the sweeper scanned every stored case, each sweep (1M cases: see docs/benchmarks.md).
"""

GUARD_QUERY = (
    "SELECT * FROM cases WHERE guard_at IS NOT NULL AND guard_at <= ? "  # noqa: S608
    f"AND {OPEN_CASE_CONDITION} AND status NOT IN (?, ?) "
    "ORDER BY deadline_at, guard_at LIMIT ?"
)
"""The sweeper's query (guarded by tests/store/test_store_scale.py)."""


def _dumps(value: Any) -> str:
    return canonical_json(value)


def facts_of(case: RefundCase) -> dict[str, Any]:
    """The case's facts as stored: personal data scrubbed, volatile fields kept (for display)."""
    doc: dict[str, Any] = scrub(case.model_dump(mode="json"))
    return doc


def facts_hash(doc: Mapping[str, Any]) -> str:
    material = fact_material(doc)
    return hashlib.sha256(canonical_json(material).encode("utf-8")).hexdigest()


def _check_pragmas(conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    """Put the connection in WAL + synchronous=FULL and read both back; refuse otherwise."""
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    try:
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
    except sqlite3.Error as exc:
        msg = (
            f"cannot switch journal_mode to 'wal' ({exc}): "
            "the connector refuses to run without write-ahead logging"
        )
        raise StoreError(msg) from exc
    if mode != "wal":
        msg = (
            f"journal_mode is {mode!r}, not 'wal': the connector refuses to run without "
            "write-ahead logging (is the file read-only, in memory or on a network share?)"
        )
        raise StoreError(msg)
    conn.execute("PRAGMA synchronous = FULL")
    sync = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    if sync != _SYNCHRONOUS_FULL:
        msg = f"synchronous is {sync}, not FULL (2): committed decisions could be lost"
        raise StoreError(msg)
    busy = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
    if busy != int(busy_timeout_ms):
        msg = f"busy_timeout is {busy} ms, expected {busy_timeout_ms} ms"
        raise StoreError(msg)
    conn.execute("PRAGMA foreign_keys = ON")


def _owner_only(path: Path) -> None:
    """The database, its WAL and shared memory hold buyer data: owner-only (issue 14)."""
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if (name.stat().st_mode & 0o777) != 0o600:
                name.chmod(0o600)
        except OSError:  # missing, or not ours to change (a read-only reader)
            continue


def _writable_dir(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def connect_read_only(
    path: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, check_same_thread: bool = True
) -> sqlite3.Connection:
    """A read-only connection that also works where the directory cannot be written.

    A WAL database needs its ``-shm`` file; on read-only media (or a directory this user cannot
    write) SQLite cannot create it and ``mode=ro`` fails (issue 14: ``audit verify`` and
    ``backup`` could not read such a database). Then, if no un-checkpointed WAL is left beside
    the file, the database is opened ``immutable=1``, which is exact because nothing can change
    it; with a WAL left over it is refused, naming the way out. Guarded by
    tests/ops/test_read_only_media.py.
    """
    uri = path.resolve().as_uri()
    wal = Path(f"{path}-wal")
    shm = Path(f"{path}-shm")
    options = "mode=ro"
    if not _writable_dir(path.parent) and not shm.exists():
        if wal.exists() and wal.stat().st_size > 0:
            msg = (
                f"{path} has un-checkpointed changes in {wal.name} but its directory cannot be "
                "written, so SQLite cannot read them; copy the directory somewhere writable "
                "and point --state-dir there"
            )
            raise StoreError(msg)
        options = "mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(
            f"{uri}?{options}",
            uri=True,
            timeout=busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=check_same_thread,
        )
    except sqlite3.Error as exc:
        msg = f"cannot read {path}: {exc}"
        raise StoreError(msg) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        msg = f"cannot read {path}: {exc}; {checks.RESTORE_HINT}"
        raise StoreError(msg) from exc
    return conn


class SqliteStore:
    """``Store`` on one SQLite file. Open with ``SqliteStore.open(state_dir)``."""

    def __init__(
        self, conn: sqlite3.Connection, *, clock: Clock, path: Path, read_only: bool
    ) -> None:
        self._conn = conn
        self.db = Database(conn, execute_plugins=False)
        self.clock = clock
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()
        self._uow_depth = 0
        self._uow_thread: int | None = None

    # opening ---------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        state_dir: Path,
        *,
        clock: Clock | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        init: bool = False,
    ) -> SqliteStore:
        """Open (creating if needed) ``connector.db``, check pragmas, apply pending migrations."""
        ensure_state_dir(state_dir)
        return cls.open_file(
            db_path(state_dir), clock=clock, busy_timeout_ms=busy_timeout_ms, init=init
        )

    @classmethod
    def open_file(
        cls,
        path: Path,
        *,
        clock: Clock | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        init: bool = False,
    ) -> SqliteStore:
        """Refuses an empty file unless ``init`` (issue 14: it silently became a new history),
        a file that is not SQLite, and a schema newer than this code; the file, its WAL and
        shared memory are owner-only (0600) whatever the umask (tests/store/test_store_checks.py).
        """
        if path.is_file():
            if init and path.stat().st_size == 0:
                path.unlink()
            else:
                checks.check_header(path)
        try:
            conn = sqlite3.connect(
                str(path),
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            msg = f"cannot open {path}: {exc}"
            raise StoreError(msg) from exc
        try:
            _owner_only(path)
            checks.check_schema_version(conn, path)
            _check_pragmas(conn, busy_timeout_ms)
            _owner_only(path)
            store = cls(conn, clock=clock or SystemClock(), path=path, read_only=False)
            store.migrate()
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def open_read_only(
        cls, state_dir: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> SqliteStore:
        """For inspection commands: never creates, migrates or writes; refuses a missing file."""
        path = db_path(state_dir)
        if not path.is_file():
            msg = f"no connector database at {path} (wrong --state-dir?)"
            raise StoreError(msg)
        return cls.open_read_only_file(path, busy_timeout_ms=busy_timeout_ms)

    @classmethod
    def open_read_only_file(
        cls, path: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> SqliteStore:
        """A read-only store on any database file (a backup copy being verified, say)."""
        if not path.is_file():
            msg = f"no database file at {path}"
            raise StoreError(msg)
        checks.check_header(path)
        conn = connect_read_only(path, busy_timeout_ms=busy_timeout_ms, check_same_thread=False)
        try:
            checks.check_schema_version(conn, path)
        except BaseException:
            conn.close()
            raise
        store = cls(conn, clock=SystemClock(), path=path, read_only=True)
        if store.pending_migrations():
            conn.close()
            msg = f"{path} has pending schema migrations; start the daemon once to apply them"
            raise StoreError(msg)
        return store

    def migrate(self) -> list[str]:
        """Apply pending migrations under the write lock (two processes never both apply)."""
        with self.unit_of_work():
            pending = [m.name for m in migrations.pending(self.db)]
            migrations.apply(self.db)
        if pending:
            log.info("store migrated", extra={"applied": pending, "path": str(self.path)})
        return pending

    def pending_migrations(self) -> list[str]:
        with self._lock:
            return [m.name for m in migrations.pending(self.db)]

    def applied_migrations(self) -> list[str]:
        with self._lock:
            return [m.name for m in migrations.applied(self.db)]

    def pragma(self, name: str) -> Any:
        with self._lock:
            return self._conn.execute(f"PRAGMA {name}").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # transactions ----------------------------------------------------------------------------
    @property
    def in_unit_of_work(self) -> bool:
        return self._uow_depth > 0 and self._uow_thread == threading.get_ident()

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; nested calls join the outer transaction."""
        if self.read_only:
            msg = "this store was opened read-only"
            raise StoreError(msg)
        with self._lock:
            if self.in_unit_of_work:
                self._uow_depth += 1
                try:
                    with self.db.atomic():
                        yield
                finally:
                    self._uow_depth -= 1
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                msg = f"cannot take the database write lock: {exc}"
                raise StoreError(msg) from exc
            self._uow_depth, self._uow_thread = 1, threading.get_ident()
            try:
                yield
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    msg = f"commit failed: {exc}"
                    raise StoreError(msg) from exc
            finally:
                self._uow_depth, self._uow_thread = 0, None

    def _rows(self, sql: str, params: _Params = ()) -> list[dict[str, Any]]:
        with self._lock:
            try:
                cursor = self._conn.execute(sql, params)
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            except sqlite3.Error as exc:
                msg = f"query failed: {exc}"
                raise StoreError(msg) from exc

    def _one(self, sql: str, params: _Params = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _written(self, table: str, row_id: int) -> dict[str, Any]:
        """The row just written to ``table`` with id ``row_id`` (in the same unit of work)."""
        row = self._one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))  # noqa: S608
        assert row is not None
        return row

    def _write(self, sql: str, params: _Params = ()) -> sqlite3.Cursor:
        if not self.in_unit_of_work:
            msg = "writes need an open unit of work"
            raise StoreError(msg)
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            msg = f"write failed: {exc}"
            raise StoreError(msg) from exc

    def _now(self) -> str:
        return ts(self.clock.now())

    # audit -----------------------------------------------------------------------------------
    def append_audit(
        self,
        event: AuditEvent | str,
        *,
        actor: str,
        key: CaseKey | None = None,
        platform: str | None = None,
        shop_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Chain one entry onto the log inside the caller's transaction."""
        if not self.in_unit_of_work:
            msg = "an audit entry is written in the same unit of work as the change it records"
            raise StoreError(msg)
        check_actor(actor)
        clean = clean_details(details)
        case_id = None
        if key is not None:
            platform, shop_id, case_id = key
        head = self.audit_head()
        seq = (head.seq if head else 0) + 1
        prev = head.hash if head else GENESIS_HASH
        at = self._now()
        body = entry_body(
            seq=seq,
            at=at,
            actor=actor,
            event=str(event),
            platform=platform,
            shop_id=shop_id,
            case_id=case_id,
            details=clean,
        )
        digest = chain_hash(prev, body)
        self._write(
            "INSERT INTO audit_log (seq, at, actor, event, platform, shop_id, case_id, "
            "details_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, actor, str(event), platform, shop_id, case_id, _dumps(clean), prev, digest),
        )
        self._write(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            (seq, digest),
        )
        return AuditEntry(
            seq=seq,
            at=at,
            actor=actor,
            event=str(event),
            platform=platform,
            shop_id=shop_id,
            case_id=case_id,
            details=clean,
            prev_hash=prev,
            hash=digest,
        )

    def audit_head(self) -> ChainHead | None:
        row = self._one("SELECT seq, hash FROM audit_head WHERE id = 1")
        return None if row is None else ChainHead(seq=row["seq"], hash=row["hash"])

    def audit_entries(
        self,
        *,
        after_seq: int = 0,
        case_id: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[AuditEntry]:
        """Entries in seq order, fetched in batches so a long log is never held in memory."""
        batch = 1000
        last = after_seq
        remaining = limit
        while remaining is None or remaining > 0:
            clauses: list[str] = ["seq > ?"]
            params: list[Any] = [last]
            if case_id is not None:
                clauses.append("case_id = ?")
                params.append(case_id)
            if since is not None:
                clauses.append("at >= ?")
                params.append(ts(since))
            size = batch if remaining is None else min(batch, remaining)
            rows = self._rows(
                f"SELECT * FROM audit_log WHERE {' AND '.join(clauses)} "  # noqa: S608
                "ORDER BY seq LIMIT ?",
                (*params, size),
            )
            for row in rows:
                yield _audit_entry(row)
            if len(rows) < size:
                return
            last = rows[-1]["seq"]
            if remaining is not None:
                remaining -= len(rows)

    def last_audit_entries(self, count: int) -> list[AuditEntry]:
        rows = self._rows("SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?", (count,))
        return [_audit_entry(r) for r in reversed(rows)]

    # cases -----------------------------------------------------------------------------------
    def import_cases(self, cases: Sequence[RefundCase]) -> int:
        """Store many cases not stored yet, in one unit of work: what ``upsert_case`` does for
        a new case (state, guard, facts, its chained ``case_seen`` audit entry) with one
        statement per table, for a bulk load (a migration, a benchmark's million cases).
        A case already stored is refused (StoreError) and nothing is written. Guarded by
        tests/store/test_import_cases.py."""
        if not cases:
            return 0
        now = self._now()
        case_rows: list[tuple[Any, ...]] = []
        audit_rows: list[tuple[Any, ...]] = []
        with self.unit_of_work():
            head = self.audit_head()
            seq, prev = (head.seq, head.hash) if head else (0, GENESIS_HASH)
            for case in cases:
                doc = facts_of(case)
                deadline = _ts_opt(case.deadline_at)
                state = CaseState.done if case.status in TERMINAL_STATUSES else CaseState.new
                case_rows.append(
                    (
                        *case.key,
                        case.order_id,
                        case.version,
                        str(case.status),
                        str(state),
                        deadline,
                        _default_guard(case.deadline_at),
                        facts_hash(doc),
                        _dumps(doc),
                        None,
                        case.buyer.id,
                        _ts_opt(case.updated_at),
                        now,
                        now,
                        now,
                    )
                )
                clean = clean_details(
                    {
                        "version": case.version,
                        "status": case.status,
                        "type": case.type,
                        "reason": case.reason,
                        "order_status": case.order_status,
                        "refund_amount": case.refund_amount,
                        "paid_amount": case.paid_amount,
                        "deadline_at": deadline,
                        "state": state,
                    }
                )
                seq += 1
                platform, shop_id, case_id = case.key
                event = str(AuditEvent.case_seen)
                body = entry_body(
                    seq=seq,
                    at=now,
                    actor="platform",
                    event=event,
                    platform=platform,
                    shop_id=shop_id,
                    case_id=case_id,
                    details=clean,
                )
                digest = chain_hash(prev, body)
                row = (seq, now, "platform", event, platform, shop_id, case_id, _dumps(clean))
                audit_rows.append((*row, prev, digest))
                prev = digest
            try:
                self._conn.executemany(
                    "INSERT INTO cases (platform, shop_id, case_id, order_id, version, status, "
                    "state, deadline_at, guard_at, facts_hash, case_json, raw_json, buyer_id, "
                    "platform_updated_at, first_seen_at, last_seen_at, changed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    case_rows,
                )
                self._conn.executemany(
                    "INSERT INTO audit_log (seq, at, actor, event, platform, shop_id, case_id, "
                    "details_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    audit_rows,
                )
            except sqlite3.Error as exc:
                msg = f"bulk import failed (is a case already stored?): {exc}"
                raise StoreError(msg) from exc
            self._write(
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                (seq, prev),
            )
        return len(case_rows)

    def upsert_case(
        self, case: RefundCase, raw: Any = None, *, guard_at: datetime | None = None
    ) -> CaseChange:
        """Store the latest platform view of a case and say what changed since the last one."""
        doc = facts_of(case)
        digest = facts_hash(doc)
        now = self._now()
        deadline = _ts_opt(case.deadline_at)
        raw_json = None if raw is None else _dumps(scrub(raw))
        with self.unit_of_work():
            old = self._case_row(case.key)
            if old is None:
                guard = _ts_opt(guard_at) or _default_guard(case.deadline_at)
                state = state_on_arrival(case.status)
                self._write(
                    "INSERT INTO cases (platform, shop_id, case_id, order_id, version, status, "
                    "state, deadline_at, guard_at, facts_hash, case_json, raw_json, buyer_id, "
                    "platform_updated_at, first_seen_at, last_seen_at, changed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        *case.key,
                        case.order_id,
                        case.version,
                        str(case.status),
                        str(state),
                        deadline,
                        guard,
                        digest,
                        _dumps(doc),
                        raw_json,
                        case.buyer.id,
                        _ts_opt(case.updated_at),
                        now,
                        now,
                        now,
                    ),
                )
                audit_events.case_seen(
                    self,
                    key=case.key,
                    version=case.version,
                    status=case.status,
                    type=case.type,
                    reason=case.reason,
                    order_status=case.order_status,
                    refund_amount=case.refund_amount,
                    paid_amount=case.paid_amount,
                    deadline_at=deadline,
                    state=state,
                )
                return CaseChange(kind=ChangeKind.new, record=self._require_case(case.key))
            old_updated = old["platform_updated_at"]
            new_updated = _ts_opt(case.updated_at)
            kind = classify_change(
                PreviousVersion(old["version"], _dt(old_updated), old["facts_hash"]),
                version=case.version,
                updated_at=_dt(new_updated),
                facts_hash=digest,
            )
            if kind is ChangeKind.stale:
                self._write(
                    "UPDATE cases SET last_seen_at = ? WHERE platform = ? AND shop_id = ? "
                    "AND case_id = ?",
                    (now, *case.key),
                )
                return CaseChange(
                    kind=ChangeKind.stale,
                    record=self._require_case(case.key),
                    previous_version=old["version"],
                )
            if kind in (ChangeKind.unchanged, ChangeKind.version_only):
                self._write(
                    "UPDATE cases SET version = ?, platform_updated_at = ?, case_json = ?, "
                    "raw_json = COALESCE(?, raw_json), last_seen_at = ? "
                    "WHERE platform = ? AND shop_id = ? AND case_id = ?",
                    (case.version, new_updated, _dumps(doc), raw_json, now, *case.key),
                )
                if kind is ChangeKind.version_only:
                    audit_events.case_changed(
                        self,
                        key=case.key,
                        version=case.version,
                        previous_version=old["version"],
                        facts_changed=False,
                    )
                return CaseChange(
                    kind=kind,
                    record=self._require_case(case.key),
                    previous_version=old["version"],
                )
            previous_doc = json.loads(old["case_json"])
            changed = changed_facts(doc, previous_doc)
            if deadline != old["deadline_at"] or guard_at is not None:
                guard = _ts_opt(guard_at) or _default_guard(case.deadline_at)
            else:
                guard = old["guard_at"]
            state = state_on_arrival(case.status)
            self._write(
                "UPDATE cases SET order_id = ?, version = ?, status = ?, state = ?, "
                "deadline_at = ?, guard_at = ?, facts_hash = ?, case_json = ?, "
                "raw_json = COALESCE(?, raw_json), buyer_id = ?, platform_updated_at = ?, "
                "last_seen_at = ?, changed_at = ?, next_review_at = NULL "
                "WHERE platform = ? AND shop_id = ? AND case_id = ?",
                (
                    case.order_id,
                    case.version,
                    str(case.status),
                    str(state),
                    deadline,
                    guard,
                    digest,
                    _dumps(doc),
                    raw_json,
                    case.buyer.id,
                    new_updated,
                    now,
                    now,
                    *case.key,
                ),
            )
            audit_events.case_changed(
                self,
                key=case.key,
                version=case.version,
                previous_version=old["version"],
                facts_changed=True,
                changed_fields=list(changed),
                status=case.status,
                previous_status=old["status"],
                deadline_at=deadline,
                state=state,
            )
            self._supersede_outlived(case.key)
            return CaseChange(
                kind=ChangeKind.facts_changed,
                record=self._require_case(case.key),
                previous_version=old["version"],
                changed_fields=changed,
            )

    def _case_row(self, key: CaseKey) -> dict[str, Any] | None:
        return self._one(
            "SELECT * FROM cases WHERE platform = ? AND shop_id = ? AND case_id = ?", key
        )

    def _require_case(self, key: CaseKey) -> CaseRecord:
        record = self.get_case(key)
        if record is None:
            msg = f"no case {'/'.join(key)}"
            raise StoreError(msg)
        return record

    def get_case(self, key: CaseKey) -> CaseRecord | None:
        row = self._case_row(key)
        return None if row is None else _case_record(row)

    def stored_versions(self, keys: Sequence[CaseKey]) -> dict[CaseKey, StoredVersion]:
        by_shop: dict[tuple[str, str], list[str]] = {}
        for platform, shop_id, case_id in keys:
            by_shop.setdefault((platform, shop_id), []).append(case_id)
        found: dict[CaseKey, StoredVersion] = {}
        for (platform, shop_id), case_ids in by_shop.items():
            rows = self._rows(
                "SELECT case_id, version, state FROM cases WHERE platform = ? AND shop_id = ? "
                "AND case_id IN (SELECT value FROM json_each(?))",
                (platform, shop_id, json.dumps(case_ids)),
            )
            for row in rows:
                found[(platform, shop_id, row["case_id"])] = StoredVersion(
                    version=row["version"], state=CaseState(row["state"])
                )
        return found

    def find_cases(self, case_id: str) -> list[CaseRecord]:
        rows = self._rows(
            "SELECT * FROM cases WHERE case_id = ? ORDER BY platform, shop_id", (case_id,)
        )
        return [_case_record(r) for r in rows]

    def set_case_state(
        self,
        key: CaseKey,
        state: CaseState,
        *,
        actor: str = "system",
        reason: str = "",
        next_review_at: datetime | None = None,
        guard_at: datetime | None = None,
    ) -> CaseRecord:
        with self.unit_of_work():
            old = self._require_case(key)
            self._write(
                "UPDATE cases SET state = ?, next_review_at = ?, guard_at = COALESCE(?, guard_at) "
                "WHERE platform = ? AND shop_id = ? AND case_id = ?",
                (str(state), _ts_opt(next_review_at), _ts_opt(guard_at), *key),
            )
            if old.state != state or guard_at is not None:
                audit_events.case_state(
                    self,
                    key=key,
                    actor=actor,
                    state=state,
                    previous_state=old.state,
                    reason=reason,
                    next_review_at=_ts_opt(next_review_at),
                    guard_at=_ts_opt(guard_at),
                )
            return self._require_case(key)

    def cases_due_for_guard(self, now: datetime, limit: int = 500) -> list[CaseRecord]:
        """Open cases whose guard time has come: the sweeper's query, by nearest deadline."""
        terminal = tuple(str(s) for s in TERMINAL_STATUSES)
        rows = self._rows(GUARD_QUERY, (ts(now), *terminal, limit))
        return [_case_record(r) for r in rows]

    def cases_due_for_review(self, now: datetime, limit: int = 500) -> list[CaseRecord]:
        closed = tuple(str(s) for s in CLOSED_CASE_STATES)
        rows = self._rows(
            "SELECT * FROM cases WHERE next_review_at IS NOT NULL AND next_review_at <= ? "
            "AND state NOT IN (?, ?) ORDER BY next_review_at LIMIT ?",
            (ts(now), *closed, limit),
        )
        return [_case_record(r) for r in rows]

    def cases_in_state(
        self, state: CaseState, limit: int = 500, *, longest_waiting: bool = False
    ) -> list[CaseRecord]:
        order = (
            "changed_at, deadline_at"
            if longest_waiting
            else "deadline_at IS NULL, deadline_at, changed_at"
        )
        rows = self._rows(
            f"SELECT * FROM cases WHERE state = ? ORDER BY {order} LIMIT ?",  # noqa: S608
            (str(state), limit),
        )
        return [_case_record(r) for r in rows]

    def new_cases_due_by(self, deadline_by: datetime, limit: int = 500) -> list[CaseRecord]:
        rows = self._rows(
            "SELECT * FROM cases WHERE state = ? AND deadline_at IS NOT NULL "
            "AND deadline_at <= ? ORDER BY deadline_at LIMIT ?",
            (str(CaseState.new), ts(deadline_by), limit),
        )
        return [_case_record(r) for r in rows]

    def count_cases_by_state(self) -> dict[CaseState, int]:
        """From the trigger-kept counts (migration 0007): a few rows, however many cases are
        stored (guarded by tests/store/test_store_scale.py)."""
        rows = self._rows("SELECT state, n FROM case_state_counts")
        counts = dict.fromkeys(CaseState, 0)
        for row in rows:
            counts[CaseState(row["state"])] = row["n"]
        return counts

    def claim_case(
        self, key: CaseKey, claimant: str, *, until: datetime, seen_version: str | None = None
    ) -> bool:
        """Take a case for a reviewer; true if free, expired or already theirs.

        ``seen_version`` is the platform version the reviewer is looking at."""
        with self.unit_of_work():
            cursor = self._write(
                "UPDATE cases SET claimed_by = ?, claim_expires_at = ?, claimed_version = ? "
                "WHERE platform = ? AND shop_id = ? AND case_id = ? AND (claimed_by IS NULL "
                "OR claimed_by = ? OR claim_expires_at IS NULL OR claim_expires_at <= ?)",
                (claimant, ts(until), seen_version, *key, claimant, self._now()),
            )
            return cursor.rowcount == 1

    def release_case(self, key: CaseKey, claimant: str) -> None:
        with self.unit_of_work():
            self._write(
                "UPDATE cases SET claimed_by = NULL, claim_expires_at = NULL "
                "WHERE platform = ? AND shop_id = ? AND case_id = ? AND claimed_by = ?",
                (*key, claimant),
            )

    # decisions and effects -------------------------------------------------------------------
    def record_decision(
        self,
        key: CaseKey,
        *,
        decided_version: str | None,
        policy_version: str,
        rule_id: str,
        action: str,
        params: Mapping[str, Any] | None = None,
        trace: Sequence[Any] = (),
        actor: str = "policy",
        effects: Sequence[EffectSpec] = (),
        first_attempt_at: datetime | None = None,
        facts: RefundCase | None = None,
        facts_at: datetime | None = None,
    ) -> tuple[DecisionRecord, list[EffectRecord]]:
        """Decision + its effects + the ``decided`` audit entry, in one transaction.

        ``facts``/``facts_at``: the case and time the policy decided on, kept for backtests."""
        check_actor(actor)
        clean_params = clean_details(params)
        trace_doc = json.loads(_dumps(list(trace)))
        with self.unit_of_work():
            self._require_case(key)
            now = self._now()
            cursor = self._write(
                "INSERT INTO decisions (platform, shop_id, case_id, decided_version, "
                "policy_version, rule_id, action, params_json, trace_json, decided_at, actor, "
                "facts_json, facts_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *key,
                    decided_version,
                    policy_version,
                    rule_id,
                    action,
                    _dumps(clean_params),
                    _dumps(trace_doc),
                    now,
                    actor,
                    None if facts is None else facts.model_dump_json(),
                    _ts_opt(facts_at),
                ),
            )
            decision_id = int(cursor.lastrowid or 0)
            audit_events.decided(
                self,
                key=key,
                actor=actor,
                decision_id=decision_id,
                rule_id=rule_id,
                action=action,
                policy_version=policy_version,
                decided_version=decided_version,
                params=clean_params,
                trace=trace_doc,
                effects=[str(s.kind) for s in effects],
            )
            created = self.enqueue_effects(decision_id, effects, first_attempt_at=first_attempt_at)
            decision = self._decision(decision_id)
            return decision, created

    def enqueue_effects(
        self,
        decision_id: int,
        specs: Sequence[EffectSpec],
        *,
        first_attempt_at: datetime | None = None,
    ) -> list[EffectRecord]:
        """Add outbox rows; a key that already exists is left alone, except a superseded one,
        which a later decision at the same version brings back (returns new or revived rows)."""
        created: list[EffectRecord] = []
        with self.unit_of_work():
            decision = self._decision(decision_id)
            now = self._now()
            due = _ts_opt(first_attempt_at) or now
            base = self._one(
                "SELECT COALESCE(MAX(position) + 1, 0) AS next FROM effects WHERE decision_id = ?",
                (decision_id,),
            )
            position = int(base["next"]) if base else 0
            for spec in specs:
                key = effect_key(
                    decision.platform,
                    decision.shop_id,
                    decision.case_id,
                    decision.decided_version,
                    spec.kind,
                    spec.discriminator,
                )
                params = clean_details(spec.params)
                existing = self.get_effect_by_key(key)
                if existing is not None:
                    if existing.status is EffectStatus.superseded:
                        # Decided again at the same platform version (e.g. the warehouse moved):
                        # the same write at the same decision point comes back, never twice.
                        self._write(
                            "UPDATE effects SET status = 'pending', decision_id = ?, position = ?, "
                            "params_json = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?",
                            (decision_id, position, _dumps(params), due, now, existing.id),
                        )
                        position += 1
                        revived = self.get_effect_by_key(key)
                        assert revived is not None
                        self._effect_audit(
                            AuditEvent.effect_requeued,
                            revived,
                            previous_status=existing.status,
                            reason="decided again at the same platform version",
                        )
                        created.append(revived)
                    continue
                cursor = self._write(
                    "INSERT INTO effects (effect_key, platform, shop_id, case_id, decision_id, "
                    "position, kind, params_json, decided_version, status, attempts, "
                    "next_attempt_at, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?) "
                    "ON CONFLICT (effect_key) DO NOTHING",
                    (
                        key,
                        decision.platform,
                        decision.shop_id,
                        decision.case_id,
                        decision_id,
                        position,
                        str(spec.kind),
                        _dumps(params),
                        decision.decided_version,
                        due,
                        now,
                        now,
                    ),
                )
                if cursor.rowcount == 1:
                    position += 1
                    record = self.get_effect_by_key(key)
                    assert record is not None
                    created.append(record)
            # Decided on a version that a later one, stored meanwhile, ended: born superseded.
            if created and self._supersede_outlived(created[0].case_key):
                created = [self._require_effect(e.id) for e in created]
        return created

    def _decision(self, decision_id: int) -> DecisionRecord:
        row = self._one("SELECT * FROM decisions WHERE id = ?", (decision_id,))
        if row is None:
            msg = f"no decision {decision_id}"
            raise StoreError(msg)
        return _decision_record(row)

    def latest_decision(self, key: CaseKey) -> DecisionRecord | None:
        row = self._one(
            "SELECT * FROM decisions WHERE platform = ? AND shop_id = ? AND case_id = ? "
            "ORDER BY id DESC LIMIT 1",
            key,
        )
        return None if row is None else _decision_record(row)

    def decisions_of_case(self, key: CaseKey) -> list[DecisionRecord]:
        rows = self._rows(
            "SELECT * FROM decisions WHERE platform = ? AND shop_id = ? AND case_id = ? "
            "ORDER BY id",
            key,
        )
        return [_decision_record(r) for r in rows]

    def get_effect(self, effect_id: int) -> EffectRecord | None:
        row = self._one("SELECT * FROM effects WHERE id = ?", (effect_id,))
        return None if row is None else _effect_record(row)

    def _require_effect(self, effect_id: int) -> EffectRecord:
        effect = self.get_effect(effect_id)
        if effect is None:
            msg = f"no effect {effect_id}"
            raise StoreError(msg)
        return effect

    def get_effect_by_key(self, effect_key: str) -> EffectRecord | None:
        row = self._one("SELECT * FROM effects WHERE effect_key = ?", (effect_key,))
        return None if row is None else _effect_record(row)

    def due_effects(self, now: datetime, limit: int = 100) -> list[EffectRecord]:
        """Pending or unknown effects whose time has come and whose earlier siblings are done,
        nearest case deadline first.

        Notices (``NOTICE_EFFECTS``) neither wait for their siblings nor hold them up."""
        notices = tuple(sorted(str(kind) for kind in NOTICE_EFFECTS))
        marks = ", ".join("?" for _ in notices)
        rows = self._rows(
            "SELECT e.* FROM effects e JOIN cases c ON c.platform = e.platform "  # noqa: S608
            "AND c.shop_id = e.shop_id AND c.case_id = e.case_id "
            "WHERE e.status IN ('pending', 'unknown') "
            f"AND e.next_attempt_at <= ? AND (e.kind IN ({marks}) OR NOT EXISTS "
            "(SELECT 1 FROM effects p WHERE p.decision_id = e.decision_id "
            f"AND p.position < e.position AND p.status <> 'done' AND p.kind NOT IN ({marks}))) "
            # The nearest platform deadline first: an urgent answer never queues behind others.
            "ORDER BY c.deadline_at IS NULL, c.deadline_at, e.next_attempt_at, e.id LIMIT ?",
            (ts(now), *notices, *notices, limit),
        )
        return [_effect_record(r) for r in rows]

    def open_effects(self, key: CaseKey) -> list[EffectRecord]:
        """The case's writes still under way (notices about the case are not among them)."""
        return [
            e
            for e in self.effects_of_case(key)
            if e.status in OPEN_EFFECT_STATUSES and e.kind not in NOTICE_EFFECTS
        ]

    def effects_of_case(self, key: CaseKey) -> list[EffectRecord]:
        rows = self._rows(
            "SELECT * FROM effects WHERE platform = ? AND shop_id = ? AND case_id = ? ORDER BY id",
            key,
        )
        return [_effect_record(r) for r in rows]

    def list_effects(
        self, status: EffectStatus | None = None, limit: int = 500
    ) -> list[EffectRecord]:
        if status is None:
            rows = self._rows("SELECT * FROM effects ORDER BY id LIMIT ?", (limit,))
        else:
            rows = self._rows(
                "SELECT * FROM effects WHERE status = ? ORDER BY id LIMIT ?", (str(status), limit)
            )
        return [_effect_record(r) for r in rows]

    def recent_effects(
        self,
        *,
        status: EffectStatus | None = None,
        case_id: str | None = None,
        limit: int = 100,
    ) -> list[EffectRecord]:
        clauses: list[str] = []
        params: list[Any] = []
        if status is not None:
            clauses.append("status = ?")
            params.append(str(status))
        if case_id is not None:
            clauses.append("case_id = ?")
            params.append(case_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._rows(
            f"SELECT * FROM effects{where} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*params, limit),
        )
        return [_effect_record(r) for r in rows]

    def _move_effect(
        self,
        effect_id: int,
        target: EffectStatus,
        *,
        count_attempt: bool = False,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
        platform_code: str | None = None,
    ) -> tuple[EffectRecord, EffectRecord]:
        """Change one effect's status if the transition is allowed; returns (before, after)."""
        before = self.get_effect(effect_id)
        if before is None:
            msg = f"no effect {effect_id}"
            raise StoreError(msg)
        if before.status not in _EFFECT_FROM[target]:
            msg = f"effect {effect_id} cannot go from {before.status} to {target}"
            raise StoreError(msg)
        now = self._now()
        self._write(
            "UPDATE effects SET status = ?, attempts = attempts + ?, "
            "next_attempt_at = ?, last_error = COALESCE(?, last_error), "
            "last_platform_code = COALESCE(?, last_platform_code), updated_at = ?, "
            "done_at = ? WHERE id = ?",
            (
                str(target),
                1 if count_attempt else 0,
                _ts_opt(next_attempt_at)
                if target in {EffectStatus.pending, EffectStatus.unknown}
                else None,
                error,
                platform_code,
                now,
                now if target is EffectStatus.done else None,
                effect_id,
            ),
        )
        after = self.get_effect(effect_id)
        assert after is not None
        return before, after

    def _effect_audit(
        self,
        event: AuditEvent,
        effect: EffectRecord,
        *,
        actor: str = "system",
        **details: Any,
    ) -> None:
        writer = _EFFECT_WRITERS[event]
        writer(
            self,
            key=effect.case_key,
            actor=actor,
            effect_id=effect.id,
            kind=effect.kind,
            attempt=effect.attempts,
            decided_version=effect.decided_version,
            **{k: v for k, v in details.items() if v is not None},
        )

    def claim_effect(self, effect_id: int) -> EffectRecord:
        """Mark in flight (one more attempt) just before the external call."""
        with self.unit_of_work():
            _, after = self._move_effect(effect_id, EffectStatus.in_flight, count_attempt=True)
            return after

    def mark_effect_done(
        self,
        effect_id: int,
        *,
        platform_code: str | None = None,
        latency_ms: float | None = None,
        detail: str = "",
    ) -> EffectRecord:
        with self.unit_of_work():
            _, after = self._move_effect(effect_id, EffectStatus.done, platform_code=platform_code)
            self._effect_audit(
                AuditEvent.effect_done,
                after,
                outcome="done",
                platform_code=platform_code,
                latency_ms=_ms(latency_ms),
                detail=detail or None,
            )
            return after

    def mark_effect_unknown(
        self,
        effect_id: int,
        *,
        error: str,
        next_attempt_at: datetime,
        platform_code: str | None = None,
        latency_ms: float | None = None,
    ) -> EffectRecord:
        """Sent without an answer: the next attempt must re-read before resending."""
        return self._attempt_ended(
            effect_id,
            EffectStatus.unknown,
            "unknown",
            error,
            next_attempt_at,
            platform_code,
            latency_ms,
        )

    def reschedule_effect(
        self,
        effect_id: int,
        *,
        error: str,
        next_attempt_at: datetime,
        platform_code: str | None = None,
        latency_ms: float | None = None,
    ) -> EffectRecord:
        """A retryable failure known not to have been applied: back to pending, later."""
        return self._attempt_ended(
            effect_id,
            EffectStatus.pending,
            "retry",
            error,
            next_attempt_at,
            platform_code,
            latency_ms,
        )

    def _attempt_ended(
        self,
        effect_id: int,
        status: EffectStatus,
        outcome: str,
        error: str,
        next_attempt_at: datetime,
        platform_code: str | None,
        latency_ms: float | None,
    ) -> EffectRecord:
        """An attempt ended without a final answer; the effect waits for ``next_attempt_at``."""
        with self.unit_of_work():
            _, after = self._move_effect(
                effect_id,
                status,
                next_attempt_at=next_attempt_at,
                error=error,
                platform_code=platform_code,
            )
            self._effect_audit(
                AuditEvent.effect_attempt,
                after,
                outcome=outcome,
                platform_code=platform_code,
                latency_ms=_ms(latency_ms),
                error=error,
                next_attempt_at=ts(next_attempt_at),
            )
            # It was in flight when a version ending the seller's part was stored: not again.
            if self._supersede_outlived(after.case_key):
                latest = self.get_effect(effect_id)
                assert latest is not None
                return latest
            return after

    def mark_effect_failed(
        self,
        effect_id: int,
        *,
        error: str,
        platform_code: str | None = None,
        latency_ms: float | None = None,
    ) -> EffectRecord:
        with self.unit_of_work():
            _, after = self._move_effect(
                effect_id, EffectStatus.failed, error=error, platform_code=platform_code
            )
            self._effect_audit(
                AuditEvent.effect_failed,
                after,
                outcome="failed",
                platform_code=platform_code,
                latency_ms=_ms(latency_ms),
                error=error,
            )
            return after

    def supersede_open_effects(self, key: CaseKey, *, reason: str) -> list[EffectRecord]:
        """The case moved on: pending/unknown effects will not be sent (in-flight ones may land,
        so they are left to their sender, which supersedes them on a "stale version" answer)."""
        changed: list[EffectRecord] = []
        with self.unit_of_work():
            for effect in self.effects_of_case(key):
                if effect.kind in NOTICE_EFFECTS:
                    continue  # what a notice reports stays true when the case moves on
                if effect.status in (EffectStatus.pending, EffectStatus.unknown):
                    _, after = self._move_effect(effect.id, EffectStatus.superseded)
                    self._effect_audit(AuditEvent.effect_superseded, after, reason=reason)
                    changed.append(after)
        return changed

    def _supersede_outlived(self, key: CaseKey) -> list[EffectRecord]:
        """The stored version ended the seller's part (casebook rule 1): supersede the writes of
        earlier decisions it left with nothing to do, audited with the version that ended them.

        The rule is ``connector.casechange.outlived_effects``; the caller holds the unit of work
        that stored the version or moved the effect (guarded by
        ``tests/integration/test_case_ended_at_platform.py``)."""
        row = self._one(
            "SELECT status, version FROM cases WHERE platform = ? AND shop_id = ? AND case_id = ?",
            key,
        )
        if row is None:
            return []
        status, version = CaseStatus(row["status"]), row["version"]
        if not ends_sellers_part(status):
            return []
        changed: list[EffectRecord] = []
        for effect in outlived_effects(status, version, self.effects_of_case(key)):
            _, after = self._move_effect(effect.id, EffectStatus.superseded)
            self._effect_audit(
                AuditEvent.effect_superseded,
                after,
                reason=ended_reason(status, version),
                ended_by_version=version,
                ended_by_status=status,
                previous_status=effect.status,
            )
            changed.append(after)
        return changed

    def mark_effect_superseded(
        self, effect_id: int, *, reason: str, platform_code: str | None = None
    ) -> EffectRecord:
        """A sent effect the platform refused as stale: it was not applied and never will be."""
        with self.unit_of_work():
            _, after = self._move_effect(
                effect_id, EffectStatus.superseded, platform_code=platform_code
            )
            self._effect_audit(AuditEvent.effect_superseded, after, reason=reason)
            return after

    def retry_effect(
        self,
        effect_id: int,
        *,
        actor: str,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> EffectRecord:
        """Ops: send a failed or unknown effect again now (unknown still re-reads first).

        ``extra_params`` completes the original write (e.g. the SMS code a person entered);
        only their names reach the audit log.

        ``reason`` and ``details`` (e.g. the operating-system user) go into the audit entry."""
        check_actor(actor)
        with self.unit_of_work():
            effect = self.get_effect(effect_id)
            if effect is None or effect.status not in {EffectStatus.failed, EffectStatus.unknown}:
                status = "missing" if effect is None else effect.status
                msg = f"effect {effect_id} is {status}; only failed or unknown effects are retried"
                raise StoreError(msg)
            target = EffectStatus.pending if effect.status is EffectStatus.failed else effect.status
            now = self.clock.now()
            params = {**effect.params, **dict(extra_params or {})}
            self._write(
                "UPDATE effects SET status = ?, next_attempt_at = ?, updated_at = ?, "
                "params_json = ? WHERE id = ?",
                (str(target), ts(now), ts(now), _dumps(params), effect_id),
            )
            if extra_params:
                details = {**dict(details or {}), "params_added": sorted(extra_params)}
            after = self.get_effect(effect_id)
            assert after is not None
            self._effect_audit(
                AuditEvent.effect_requeued,
                after,
                actor=actor,
                previous_status=effect.status,
                reason=reason or None,
                **dict(details or {}),
            )
            return after

    def cancel_effect(
        self,
        effect_id: int,
        *,
        actor: str,
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> EffectRecord:
        check_actor(actor)
        with self.unit_of_work():
            before, after = self._move_effect(effect_id, EffectStatus.cancelled)
            self._effect_audit(
                AuditEvent.effect_cancelled,
                after,
                actor=actor,
                reason=reason,
                previous_status=before.status,
                **dict(details or {}),
            )
            return after

    def recover_in_flight(self) -> list[EffectRecord]:
        """At start-up: an effect left in flight by a crash may have been applied -> unknown."""
        recovered: list[EffectRecord] = []
        with self.unit_of_work():
            for effect in self.list_effects(EffectStatus.in_flight, limit=1_000_000):
                _, after = self._move_effect(
                    effect.id,
                    EffectStatus.unknown,
                    next_attempt_at=self.clock.now(),
                    error="in flight when the connector stopped",
                )
                self._effect_audit(
                    AuditEvent.effect_attempt,
                    after,
                    outcome="unknown",
                    error="in flight when the connector stopped",
                )
                recovered.append(after)
            for key in dict.fromkeys(effect.case_key for effect in recovered):
                self._supersede_outlived(key)
        return recovered

    # shops and cursors -----------------------------------------------------------------------
    def _ensure_shop(self, platform: str, shop_id: str) -> None:
        self._write(
            "INSERT INTO shops (platform, shop_id, first_polled_at, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (platform, shop_id) DO NOTHING",
            (platform, shop_id, self._now(), self._now()),
        )

    def get_shop(self, platform: str, shop_id: str) -> ShopRecord | None:
        row = self._one(
            "SELECT * FROM shops WHERE platform = ? AND shop_id = ?", (platform, shop_id)
        )
        return None if row is None else _shop_record(row)

    def list_shops(self) -> list[ShopRecord]:
        return [_shop_record(r) for r in self._rows("SELECT * FROM shops ORDER BY 1, 2")]

    def _shop(self, platform: str, shop_id: str) -> ShopRecord:
        shop = self.get_shop(platform, shop_id)
        assert shop is not None
        return shop

    def advance_cursor(
        self, platform: str, shop_id: str, *, cursor: str | None, high_water_at: datetime | None
    ) -> ShopRecord:
        """Move the poll cursor after the page it covers is committed; it never goes back."""
        with self.unit_of_work():
            self._ensure_shop(platform, shop_id)
            current = self._shop(platform, shop_id)
            if (
                high_water_at is not None
                and current.high_water_at is not None
                and high_water_at < current.high_water_at
            ):
                msg = (
                    f"cursor of {platform}/{shop_id} would move back from "
                    f"{current.high_water_at.isoformat()} to {high_water_at.isoformat()}"
                )
                raise StoreError(msg)
            self._write(
                "UPDATE shops SET cursor = ?, high_water_at = COALESCE(?, high_water_at), "
                "updated_at = ? WHERE platform = ? AND shop_id = ?",
                (cursor, _ts_opt(high_water_at), self._now(), platform, shop_id),
            )
            return self._shop(platform, shop_id)

    def record_poll(self, platform: str, shop_id: str, *, lag_s: float | None) -> ShopRecord:
        with self.unit_of_work():
            self._ensure_shop(platform, shop_id)
            now = self._now()
            self._write(
                "UPDATE shops SET last_poll_at = ?, poll_lag_s = ?, updated_at = ? "
                "WHERE platform = ? AND shop_id = ?",
                (now, lag_s, now, platform, shop_id),
            )
            return self._shop(platform, shop_id)

    def record_full_reconciliation(self, platform: str, shop_id: str) -> ShopRecord:
        with self.unit_of_work():
            self._ensure_shop(platform, shop_id)
            now = self._now()
            self._write(
                "UPDATE shops SET last_full_reconciliation_at = ?, updated_at = ? "
                "WHERE platform = ? AND shop_id = ?",
                (now, now, platform, shop_id),
            )
            return self._shop(platform, shop_id)

    # quarantine ------------------------------------------------------------------------------
    def quarantine(self, item: QuarantinedCase) -> QuarantineRecord:
        """Keep a payload that is not a valid case; the same item seen again is counted once."""
        raw = scrub(item.raw)
        problems = [{"field": p.field, "reason": p.reason} for p in item.problems]
        if item.platform and item.shop_id and item.case_id:
            identity = f"case:{item.platform}/{item.shop_id}/{item.case_id}"
        else:
            identity = "raw:" + hashlib.sha256(_dumps(raw).encode("utf-8")).hexdigest()
        with self.unit_of_work():
            now = self._now()
            old = self._one("SELECT * FROM quarantine WHERE identity = ?", (identity,))
            if old is None:
                self._write(
                    "INSERT INTO quarantine (identity, platform, shop_id, case_id, problems_json, "
                    "raw_json, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        identity,
                        item.platform,
                        item.shop_id,
                        item.case_id,
                        _dumps(problems),
                        _dumps(raw),
                        now,
                        now,
                    ),
                )
            else:
                self._write(
                    "UPDATE quarantine SET problems_json = ?, raw_json = ?, last_seen_at = ?, "
                    "seen_count = seen_count + 1, resolved = 0, resolved_at = NULL, "
                    "resolved_by = NULL WHERE identity = ?",
                    (_dumps(problems), _dumps(raw), now, identity),
                )
            row = self._one("SELECT * FROM quarantine WHERE identity = ?", (identity,))
            assert row is not None
            record = _quarantine_record(row)
            if old is None or json.loads(old["problems_json"]) != problems or old["resolved"]:
                audit_events.quarantined(
                    self,
                    platform=item.platform,
                    shop_id=item.shop_id,
                    key=(
                        (item.platform, item.shop_id, item.case_id)
                        if item.platform and item.shop_id and item.case_id
                        else None
                    ),
                    quarantine_id=record.id,
                    problems=problems,
                )
            return record

    def list_quarantine(self, *, include_resolved: bool = False) -> list[QuarantineRecord]:
        sql = "SELECT * FROM quarantine"
        if not include_resolved:
            sql += " WHERE resolved = 0"
        return [_quarantine_record(r) for r in self._rows(sql + " ORDER BY id")]

    def resolve_quarantine(self, quarantine_id: int, *, actor: str) -> QuarantineRecord:
        check_actor(actor)
        with self.unit_of_work():
            now = self._now()
            cursor = self._write(
                "UPDATE quarantine SET resolved = 1, resolved_at = ?, resolved_by = ? WHERE id = ?",
                (now, actor, quarantine_id),
            )
            if cursor.rowcount != 1:
                msg = f"no quarantined item {quarantine_id}"
                raise StoreError(msg)
            row = self._written("quarantine", quarantine_id)
            record = _quarantine_record(row)
            key = (
                (record.platform, record.shop_id, record.case_id)
                if record.platform and record.shop_id and record.case_id
                else None
            )
            audit_events.quarantine_resolved(
                self,
                actor=actor,
                key=key,
                platform=record.platform,
                shop_id=record.shop_id,
                quarantine_id=quarantine_id,
            )
            return record

    # buyer history ---------------------------------------------------------------------------
    def record_buyer_refund(
        self, key: CaseKey, *, buyer_id: str, amount: int, refunded_at: datetime
    ) -> bool:
        """One refund per case (re-recording is a no-op); true if newly recorded."""
        with self.unit_of_work():
            cursor = self._write(
                "INSERT INTO buyer_refunds (platform, shop_id, case_id, buyer_id, amount, "
                "refunded_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (platform, shop_id, case_id) DO NOTHING",
                (*key, buyer_id, amount, ts(refunded_at)),
            )
            return cursor.rowcount == 1

    def buyer_refunds_within(
        self,
        platform: str,
        buyer_id: str,
        now: datetime,
        window: timedelta = BUYER_HISTORY_WINDOW,
    ) -> int:
        row = self._one(
            "SELECT count(*) AS n FROM buyer_refunds WHERE platform = ? AND buyer_id = ? "
            "AND refunded_at > ? AND refunded_at <= ?",
            (platform, buyer_id, ts(now - window), ts(now)),
        )
        return int(row["n"]) if row else 0

    def latest_action_counts(self) -> dict[str, int]:
        """How many cases stand at each action, by their latest decision."""
        rows = self._rows(
            "SELECT d.action AS action, count(*) AS n FROM decisions d JOIN ("
            "SELECT platform, shop_id, case_id, max(id) AS id FROM decisions "
            "GROUP BY platform, shop_id, case_id) last ON last.id = d.id GROUP BY d.action",
            (),
        )
        return {str(r["action"]): int(r["n"]) for r in rows}

    def cases_left_to_platform(self) -> set[CaseKey]:
        """Cases a decision knowingly left to the platform's timeout (by the seller's rule)."""
        rows = self._rows(
            "SELECT DISTINCT platform, shop_id, case_id FROM decisions "
            "WHERE json_extract(params_json, '$.left_to_platform') = 1",
            (),
        )
        return {(str(r["platform"]), str(r["shop_id"]), str(r["case_id"])) for r in rows}

    def effect_status_counts(self) -> dict[str, int]:
        rows = self._rows("SELECT status, count(*) AS n FROM effects GROUP BY status", ())
        return {str(r["status"]): int(r["n"]) for r in rows}

    def refunded_on_order(
        self, platform: str, shop_id: str, order_id: str, *, exclude_case_id: str | None = None
    ) -> int:
        row = self._one(
            "SELECT coalesce(sum(r.amount), 0) AS total FROM buyer_refunds r JOIN cases c "
            "ON c.platform = r.platform AND c.shop_id = r.shop_id AND c.case_id = r.case_id "
            "WHERE r.platform = ? AND r.shop_id = ? AND c.order_id = ? AND r.case_id <> ?",
            (platform, shop_id, order_id, exclude_case_id or ""),
        )
        return int(row["total"]) if row else 0

    def record_carrier_claim(
        self, key: CaseKey, *, case: RefundCase, effect_id: int
    ) -> CarrierClaimRecord:
        """One claim per effect (re-recording returns the existing claim)."""
        logistics = case.logistics
        with self.unit_of_work():
            self._write(
                "INSERT INTO carrier_claims (platform, shop_id, case_id, order_id, sku, "
                "item_title, quantity, item_price, claim_amount, carrier, waybill, "
                "logistics_status, effect_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (effect_id) DO NOTHING",
                (
                    *key,
                    case.order_id,
                    case.item.sku,
                    case.item.title,
                    case.item.quantity,
                    case.item.price,
                    case.refund_amount,
                    logistics.carrier if logistics else None,
                    logistics.waybill if logistics else None,
                    str(logistics.status) if logistics else None,
                    effect_id,
                    self._now(),
                ),
            )
            row = self._one("SELECT * FROM carrier_claims WHERE effect_id = ?", (effect_id,))
            assert row is not None
            claim = _claim_record(row)
            audit_events.carrier_claim_opened(
                self,
                key=key,
                claim_id=claim.id,
                order_id=claim.order_id,
                sku=claim.sku,
                carrier=claim.carrier,
                waybill=claim.waybill,
                item_price=claim.item_price,
                claim_amount=claim.claim_amount,
            )
            return claim

    def list_carrier_claims(self) -> list[CarrierClaimRecord]:
        rows = self._rows("SELECT * FROM carrier_claims ORDER BY id", ())
        return [_claim_record(r) for r in rows]

    def mark_claims_exported(
        self,
        claim_ids: Sequence[int],
        *,
        actor: str,
        details: Mapping[str, Any] | None = None,
    ) -> list[CarrierClaimRecord]:
        """Stamp claims as handed to the desk (first export time kept) with one audit entry."""
        check_actor(actor)
        ids = sorted(set(claim_ids))
        with self.unit_of_work():
            now = self._now()
            marked: list[CarrierClaimRecord] = []
            for claim_id in ids:
                cursor = self._write(
                    "UPDATE carrier_claims SET exported_at = COALESCE(exported_at, ?) WHERE id = ?",
                    (now, claim_id),
                )
                if cursor.rowcount != 1:
                    msg = f"no carrier claim {claim_id}"
                    raise StoreError(msg)
                row = self._written("carrier_claims", claim_id)
                marked.append(_claim_record(row))
            audit_events.carrier_claims_exported(
                self, actor=actor, claim_ids=ids, count=len(ids), **dict(details or {})
            )
            return marked

    def flag_buyer(self, platform: str, buyer_id: str, *, actor: str, reason: str) -> None:
        check_actor(actor)
        with self.unit_of_work():
            self._write(
                "INSERT INTO flagged_buyers (platform, buyer_id, reason, flagged_by, flagged_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, buyer_id) DO UPDATE SET "
                "reason = excluded.reason, flagged_by = excluded.flagged_by",
                (platform, buyer_id, reason, actor, self._now()),
            )
            audit_events.buyer_flagged(
                self, actor=actor, platform=platform, buyer_id=buyer_id, reason=reason
            )

    def unflag_buyer(self, platform: str, buyer_id: str, *, actor: str) -> None:
        check_actor(actor)
        with self.unit_of_work():
            cursor = self._write(
                "DELETE FROM flagged_buyers WHERE platform = ? AND buyer_id = ?",
                (platform, buyer_id),
            )
            if cursor.rowcount:
                audit_events.buyer_unflagged(
                    self, actor=actor, platform=platform, buyer_id=buyer_id
                )

    def flagged_buyers(self, platform: str) -> frozenset[str]:
        rows = self._rows("SELECT buyer_id FROM flagged_buyers WHERE platform = ?", (platform,))
        return frozenset(r["buyer_id"] for r in rows)

    # tasks -----------------------------------------------------------------------------------
    def open_task(
        self,
        key: CaseKey,
        kind: str,
        *,
        deadline_at: datetime | None,
        details: Mapping[str, Any] | None = None,
    ) -> TaskRecord:
        clean = clean_details(details)
        with self.unit_of_work():
            cursor = self._write(
                "INSERT INTO tasks (platform, shop_id, case_id, kind, deadline_at, status, "
                "details_json, created_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
                (*key, kind, _ts_opt(deadline_at), _dumps(clean), self._now()),
            )
            task = self._task(int(cursor.lastrowid or 0))
            audit_events.task_opened(
                self,
                key=key,
                **{"task_id": task.id, "kind": kind, "deadline_at": _ts_opt(deadline_at), **clean},
            )
            return task

    def close_task(
        self, task_id: int, *, actor: str, status: TaskStatus = TaskStatus.done
    ) -> TaskRecord:
        check_actor(actor)
        if status is TaskStatus.open:
            msg = "close_task needs done or cancelled"
            raise StoreError(msg)
        with self.unit_of_work():
            task = self._task(task_id)
            if task.status is not TaskStatus.open:
                msg = f"task {task_id} is already {task.status}"
                raise StoreError(msg)
            self._write(
                "UPDATE tasks SET status = ?, closed_at = ?, closed_by = ? WHERE id = ?",
                (str(status), self._now(), actor, task_id),
            )
            audit_events.task_closed(
                self,
                actor=actor,
                key=(task.platform, task.shop_id, task.case_id),
                task_id=task_id,
                kind=task.kind,
                status=status,
            )
            return self._task(task_id)

    def _task(self, task_id: int) -> TaskRecord:
        row = self._one("SELECT * FROM tasks WHERE id = ?", (task_id,))
        if row is None:
            msg = f"no task {task_id}"
            raise StoreError(msg)
        return _task_record(row)

    def open_tasks(self, kind: str | None = None) -> list[TaskRecord]:
        if kind is None:
            rows = self._rows("SELECT * FROM tasks WHERE status = 'open' ORDER BY deadline_at, id")
        else:
            rows = self._rows(
                "SELECT * FROM tasks WHERE status = 'open' AND kind = ? ORDER BY deadline_at, id",
                (kind,),
            )
        return [_task_record(r) for r in rows]

    # web console -----------------------------------------------------------------------------
    def add_console_user(
        self,
        name: str,
        role: ConsoleRole,
        password_hash: str,
        *,
        actor: str,
        details: Mapping[str, Any] | None = None,
    ) -> ConsoleUserRecord:
        with self.unit_of_work():
            if self.get_console_user(name) is not None:
                msg = f"console account {name!r} already exists"
                raise StoreError(msg)
            self._write(
                "INSERT INTO console_users (name, role, password_hash, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, str(role), password_hash, self._now(), actor),
            )
            audit_events.console_user_added(
                self, actor=actor, account=name, role=str(role), **(details or {})
            )
            user = self.get_console_user(name)
            assert user is not None
            return user

    def get_console_user(self, name: str) -> ConsoleUserRecord | None:
        row = self._one("SELECT * FROM console_users WHERE name = ?", (name,))
        return None if row is None else _console_user(row)

    def list_console_users(self) -> list[ConsoleUserRecord]:
        return [_console_user(r) for r in self._rows("SELECT * FROM console_users ORDER BY name")]

    def create_console_session(
        self, token_hash: str, user_name: str, *, csrf_token: str, expires_at: datetime
    ) -> ConsoleSessionRecord:
        now = self._now()
        with self.unit_of_work():
            self._write("DELETE FROM console_sessions WHERE expires_at <= ?", (now,))
            self._write(
                "INSERT INTO console_sessions (token_hash, user_name, csrf_token, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?)",
                (token_hash, user_name, csrf_token, now, ts(expires_at)),
            )
        return ConsoleSessionRecord(
            token_hash=token_hash,
            user_name=user_name,
            csrf_token=csrf_token,
            created_at=_dt_req(now),
            expires_at=to_utc(expires_at),
        )

    def get_console_session(self, token_hash: str, now: datetime) -> ConsoleSessionRecord | None:
        row = self._one(
            "SELECT * FROM console_sessions WHERE token_hash = ? AND expires_at > ?",
            (token_hash, ts(now)),
        )
        if row is None:
            return None
        return ConsoleSessionRecord(
            token_hash=row["token_hash"],
            user_name=row["user_name"],
            csrf_token=row["csrf_token"],
            created_at=_dt_req(row["created_at"]),
            expires_at=_dt_req(row["expires_at"]),
        )

    def delete_console_session(self, token_hash: str) -> None:
        with self.unit_of_work():
            self._write("DELETE FROM console_sessions WHERE token_hash = ?", (token_hash,))

    # the reviewer's desk -------------------------------------------------------------------
    def assign_case(self, key: CaseKey, assignee: str | None, *, actor: str) -> None:
        with self.unit_of_work():
            cursor = self._write(
                "UPDATE cases SET assigned_to = ? WHERE platform = ? AND shop_id = ? "
                "AND case_id = ?",
                (assignee, *key),
            )
            if cursor.rowcount != 1:
                msg = f"no case {key[2]} in shop {key[0]}:{key[1]}"
                raise StoreError(msg)
            audit_events.case_assigned(self, key=key, actor=actor, assignee=assignee)

    def add_case_note(self, key: CaseKey, body: str, *, actor: str) -> CaseNoteRecord:
        clean = mask_free_text(body.strip())
        with self.unit_of_work():
            cursor = self._write(
                "INSERT INTO case_notes (platform, shop_id, case_id, author, body, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (*key, actor, clean, self._now()),
            )
            note_id = int(cursor.lastrowid or 0)
            audit_events.case_note_added(
                self, key=key, actor=actor, note_id=note_id, chars=len(clean)
            )
        return next(n for n in self.case_notes(key) if n.id == note_id)

    def case_notes(self, key: CaseKey) -> list[CaseNoteRecord]:
        rows = self._rows(
            "SELECT * FROM case_notes WHERE platform = ? AND shop_id = ? AND case_id = ? "
            "ORDER BY id",
            key,
        )
        return [
            CaseNoteRecord(
                id=r["id"], platform=r["platform"], shop_id=r["shop_id"], case_id=r["case_id"],
                author=r["author"], body=r["body"], created_at=_dt_req(r["created_at"]),
            )
            for r in rows
        ]

    def request_approval(
        self,
        key: CaseKey,
        *,
        action: str,
        amount_fen: int,
        reason: str,
        seen_version: str | None,
        actor: str,
    ) -> ApprovalRecord:
        with self.unit_of_work():
            if self.pending_approval(key) is not None:
                msg = f"case {key[2]} already has a pending second approval"
                raise StoreError(msg)
            cursor = self._write(
                "INSERT INTO approvals (platform, shop_id, case_id, action, amount_fen, reason, "
                "seen_version, requested_by, requested_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                (*key, action, amount_fen, mask_free_text(reason), seen_version, actor,
                 self._now()),
            )
            approval_id = int(cursor.lastrowid or 0)
            audit_events.approval_requested(
                self, key=key, actor=actor, approval_id=approval_id, action=action,
                amount_fen=amount_fen, seen_version=seen_version,
            )
            found = self._approval(approval_id)
            assert found is not None
            return found

    def _approval(self, approval_id: int) -> ApprovalRecord | None:
        row = self._one("SELECT * FROM approvals WHERE id = ?", (approval_id,))
        return None if row is None else _approval_record(row)

    def pending_approval(self, key: CaseKey) -> ApprovalRecord | None:
        row = self._one(
            "SELECT * FROM approvals WHERE platform = ? AND shop_id = ? AND case_id = ? "
            "AND status = 'pending' ORDER BY id DESC LIMIT 1",
            key,
        )
        return None if row is None else _approval_record(row)

    def pending_approvals(self) -> list[ApprovalRecord]:
        rows = self._rows("SELECT * FROM approvals WHERE status = 'pending' ORDER BY id")
        return [_approval_record(r) for r in rows]

    def close_approval(
        self,
        approval_id: int,
        status: ApprovalStatus,
        *,
        actor: str,
        decision_id: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> ApprovalRecord:
        with self.unit_of_work():
            before = self._approval(approval_id)
            if before is None or before.status is not ApprovalStatus.pending:
                msg = f"approval {approval_id} is not pending"
                raise StoreError(msg)
            self._write(
                "UPDATE approvals SET status = ?, closed_by = ?, closed_at = ?, decision_id = ? "
                "WHERE id = ?",
                (str(status), actor, self._now(), decision_id, approval_id),
            )
            _writer(_APPROVAL_WRITERS, status)(
                self, key=before.key, actor=actor, approval_id=approval_id,
                requested_by=before.requested_by, amount_fen=before.amount_fen,
                decision_id=decision_id, **(details or {}),
            )
            after = self._approval(approval_id)
            assert after is not None
            return after

    def cache_evidence_image(self, url: str, content_type: str, body: bytes) -> None:
        with self.unit_of_work():
            self._write(
                "INSERT OR REPLACE INTO evidence_images (url, content_type, body, fetched_at) "
                "VALUES (?, ?, ?, ?)",
                (url, content_type, body, self._now()),
            )

    def cached_evidence_image(self, url: str) -> tuple[str, bytes] | None:
        row = self._one("SELECT content_type, body FROM evidence_images WHERE url = ?", (url,))
        return None if row is None else (str(row["content_type"]), bytes(row["body"]))

    def update_console_user(
        self,
        name: str,
        *,
        actor: str,
        event: str,
        role: ConsoleRole | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
        end_sessions: bool = False,
        details: Mapping[str, Any] | None = None,
    ) -> ConsoleUserRecord:
        with self.unit_of_work():
            before = self.get_console_user(name)
            if before is None:
                msg = f"no console account {name!r}"
                raise StoreError(msg)
            self._write(
                "UPDATE console_users SET role = COALESCE(?, role), "
                "password_hash = COALESCE(?, password_hash), "
                "disabled = COALESCE(?, disabled) WHERE name = ?",
                (
                    None if role is None else str(role),
                    password_hash,
                    None if disabled is None else int(disabled),
                    name,
                ),
            )
            ended = 0
            if end_sessions:
                ended = self._write(
                    "DELETE FROM console_sessions WHERE user_name = ?", (name,)
                ).rowcount
            change: dict[str, Any] = {"account": name}
            if role is not None:
                change.update(role_before=str(before.role), role_after=str(role))
            if disabled is not None:
                change["disabled"] = disabled
            if end_sessions:
                change["sessions_ended"] = ended
            _writer(_ACCOUNT_WRITERS, event)(self, actor=actor, **{**change, **(details or {})})
            user = self.get_console_user(name)
            assert user is not None
            return user

    def list_console_sessions(self, now: datetime) -> list[ConsoleSessionRecord]:
        rows = self._rows(
            "SELECT * FROM console_sessions WHERE expires_at > ? ORDER BY user_name, created_at",
            (ts(now),),
        )
        return [
            ConsoleSessionRecord(
                token_hash=row["token_hash"],
                user_name=row["user_name"],
                csrf_token=row["csrf_token"],
                created_at=_dt_req(row["created_at"]),
                expires_at=_dt_req(row["expires_at"]),
            )
            for row in rows
        ]

    def end_console_session(
        self, token_hash: str, *, actor: str, details: Mapping[str, Any] | None = None
    ) -> bool:
        with self.unit_of_work():
            row = self._one(
                "SELECT user_name FROM console_sessions WHERE token_hash = ?", (token_hash,)
            )
            if row is None:
                return False
            self._write("DELETE FROM console_sessions WHERE token_hash = ?", (token_hash,))
            audit_events.console_session_ended(
                self, actor=actor, account=row["user_name"], ended_id=token_hash[:12],
                **(details or {}),
            )
            return True

    def search_audit(
        self,
        *,
        case_id: str | None = None,
        order_id: str | None = None,
        shop_id: str | None = None,
        event: str | None = None,
        rule_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]:
        clauses: list[str] = []
        params: list[Any] = []
        if case_id:
            clauses.append("a.case_id = ?")
            params.append(case_id)
        if order_id:
            clauses.append(
                "EXISTS (SELECT 1 FROM cases c WHERE c.platform = a.platform AND "
                "c.shop_id = a.shop_id AND c.case_id = a.case_id AND c.order_id = ?)"
            )
            params.append(order_id)
        if shop_id:
            clauses.append("a.shop_id = ?")
            params.append(shop_id)
        if event:
            clauses.append("(a.event = ? OR json_extract(a.details_json, '$.action') IN (?, ?))")
            params.extend([event, event, event.replace("-", "_")])
        if rule_id:
            clauses.append("json_extract(a.details_json, '$.rule_id') = ?")
            params.append(rule_id)
        if since is not None:
            clauses.append("a.at >= ?")
            params.append(ts(since))
        if until is not None:
            clauses.append("a.at < ?")
            params.append(ts(until))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._rows(
            f"SELECT a.* FROM audit_log a {where} ORDER BY a.seq DESC LIMIT ?",  # noqa: S608
            (*params, limit),
        )
        return [_audit_entry(r) for r in rows]

    def refund_reason_counts(self, since: datetime, until: datetime) -> list[ReasonCount]:
        rows = self._rows(
            "SELECT platform, shop_id, json_extract(case_json, '$.item.sku') AS sku, "
            "max(json_extract(case_json, '$.item.title')) AS item_title, "
            "json_extract(case_json, '$.reason') AS reason, count(*) AS cases, "
            "sum(json_extract(case_json, '$.refund_amount')) AS refund_amount "
            "FROM cases WHERE first_seen_at >= ? AND first_seen_at < ? "
            "GROUP BY platform, shop_id, sku, reason "
            "ORDER BY cases DESC, platform, shop_id, sku, reason",
            (ts(since), ts(until)),
        )
        return [
            ReasonCount(
                platform=r["platform"],
                shop_id=r["shop_id"],
                sku=str(r["sku"]),
                item_title=str(r["item_title"] or ""),
                reason=str(r["reason"]),
                cases=int(r["cases"]),
                refund_amount=int(r["refund_amount"] or 0),
            )
            for r in rows
        ]

    # policy history and safety (issue 20) ----------------------------------------------------
    def record_policy_version(
        self, version: str, *, name: str, text: str, actor: str
    ) -> PolicyVersionRecord:
        check_actor(actor)
        with self.unit_of_work():
            self._write(
                "INSERT OR IGNORE INTO policy_versions (version, name, text, first_seen_at, "
                "first_seen_by) VALUES (?, ?, ?, ?, ?)",
                (version, name, text, self._now(), actor),
            )
            found = self.get_policy_version(version)
            assert found is not None
            return found

    def install_policy(
        self,
        version: str | None,
        *,
        shop_id: str | None,
        role: PolicyRole,
        actor: str,
        event: str,
        name: str = "",
        text: str = "",
        note: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> PolicyInstallRecord:
        check_actor(actor)
        with self.unit_of_work():
            if version is not None:
                self.record_policy_version(version, name=name, text=text, actor=actor)
            cursor = self._write(
                "INSERT INTO policy_installs (version, shop_id, role, installed_by, "
                "installed_at, note) VALUES (?, ?, ?, ?, ?, ?)",
                (version, shop_id, str(role), actor, self._now(), note),
            )
            install_id = int(cursor.lastrowid or 0)
            _writer(_INSTALL_WRITERS, event)(
                self,
                actor=actor,
                shop_id=shop_id,
                install_id=install_id,
                version=version,
                policy_name=name or None,
                role=str(role),
                note=note or None,
                **(details or {}),
            )
            row = self._written("policy_installs", install_id)
            return _policy_install(row)

    def get_policy_version(self, version: str) -> PolicyVersionRecord | None:
        row = self._one("SELECT * FROM policy_versions WHERE version = ?", (version,))
        return None if row is None else _policy_version(row)

    def policy_versions(self) -> list[PolicyVersionRecord]:
        rows = self._rows("SELECT * FROM policy_versions ORDER BY first_seen_at, version")
        return [_policy_version(r) for r in rows]

    def policy_installs(
        self, *, shop_id: str | None = None, role: PolicyRole | None = None
    ) -> list[PolicyInstallRecord]:
        clauses: list[str] = []
        params: list[Any] = []
        if shop_id is not None:
            clauses.append("(shop_id = ? OR shop_id IS NULL)")
            params.append(shop_id)
        if role is not None:
            clauses.append("role = ?")
            params.append(str(role))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._rows(
            f"SELECT * FROM policy_installs {where} ORDER BY id DESC",  # noqa: S608
            tuple(params),
        )
        return [_policy_install(r) for r in rows]

    def current_policy_install(self, shop_id: str, role: PolicyRole) -> PolicyInstallRecord | None:
        row = self._one(
            "SELECT * FROM policy_installs WHERE role = ? AND (shop_id = ? OR shop_id IS NULL) "
            "ORDER BY id DESC LIMIT 1",
            (str(role), shop_id),
        )
        return None if row is None else _policy_install(row)

    def decisions_to_replay(
        self, *, since: datetime | None = None, shop_id: str | None = None
    ) -> list[ReplayRow]:
        clauses = ["actor = 'policy'", "facts_json IS NOT NULL"]
        params: list[Any] = []
        if since is not None:
            clauses.append("decided_at >= ?")
            params.append(ts(since))
        if shop_id is not None:
            clauses.append("shop_id = ?")
            params.append(shop_id)
        where = " AND ".join(clauses)
        latest = _latest_per_case("decisions", where)
        rows = self._rows(
            "SELECT d.id, d.platform, d.shop_id, d.case_id, d.policy_version, d.rule_id, "  # noqa: S608
            "d.action, d.params_json, d.facts_json, d.facts_at, d.decided_at, "
            "(SELECT h.action || ' ' || h.actor FROM decisions h WHERE h.platform = d.platform "
            " AND h.shop_id = d.shop_id AND h.case_id = d.case_id AND h.id > d.id "
            " AND h.actor LIKE 'human:%' ORDER BY h.id DESC LIMIT 1) AS person "
            f"FROM ({latest}) d ORDER BY d.id",
            tuple(params),
        )
        out: list[ReplayRow] = []
        for r in rows:
            person_action, _, person = (r["person"] or "").partition(" ")
            out.append(
                ReplayRow(
                    decision_id=int(r["id"]),
                    key=(r["platform"], r["shop_id"], r["case_id"]),
                    policy_version=r["policy_version"],
                    rule_id=r["rule_id"],
                    action=r["action"],
                    params_json=r["params_json"],
                    facts_json=r["facts_json"],
                    facts_at=_dt_req(r["facts_at"] or r["decided_at"]),
                    person_action=person_action or None,
                    person=person or None,
                )
            )
        return out

    def record_shadow_decision(
        self,
        key: CaseKey,
        *,
        decided_version: str | None,
        shadow_version: str,
        rule_id: str,
        action: str,
        refund_amount: int,
        live_version: str,
        live_rule_id: str,
        live_action: str,
        live_refund_amount: int,
    ) -> ShadowDecisionRecord:
        with self.unit_of_work():
            cursor = self._write(
                "INSERT INTO shadow_decisions (platform, shop_id, case_id, decided_version, "
                "shadow_version, rule_id, action, refund_amount, live_version, live_rule_id, "
                "live_action, live_refund_amount, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *key,
                    decided_version,
                    shadow_version,
                    rule_id,
                    action,
                    refund_amount,
                    live_version,
                    live_rule_id,
                    live_action,
                    live_refund_amount,
                    self._now(),
                ),
            )
            shadow_id = int(cursor.lastrowid or 0)
            audit_events.shadow_decided(
                self,
                key=key,
                shadow_decision_id=shadow_id,
                shadow_version=shadow_version,
                rule_id=rule_id,
                action=action,
                refund_amount=refund_amount,
                live_version=live_version,
                live_rule_id=live_rule_id,
                live_action=live_action,
                agrees=action == live_action,
            )
            row = self._written("shadow_decisions", shadow_id)
            return _shadow_decision(row)

    def shadow_decisions(
        self, shop_id: str, *, shadow_version: str | None = None
    ) -> list[ShadowDecisionRecord]:
        clauses, params = ["shop_id = ?"], [shop_id]
        if shadow_version is not None:
            clauses.append("shadow_version = ?")
            params.append(shadow_version)
        where = " AND ".join(clauses)
        latest = _latest_per_case("shadow_decisions", where)
        rows = self._rows(
            "SELECT s.*, (SELECT h.action FROM decisions h WHERE h.platform = s.platform "  # noqa: S608
            " AND h.shop_id = s.shop_id AND h.case_id = s.case_id AND h.decided_at >= s.decided_at"
            " AND h.actor LIKE 'human:%' ORDER BY h.id DESC LIMIT 1) AS person_action "
            f"FROM ({latest}) s ORDER BY s.id",
            tuple(params),
        )
        return [_shadow_decision(r) for r in rows]

    def cap_usage(self, shop_id: str, *, kind: CapEntryKind, since: datetime) -> tuple[int, int]:
        row = self._one(
            "SELECT count(*) AS n, COALESCE(sum(amount), 0) AS fen FROM cap_ledger "
            "WHERE shop_id = ? AND kind = ? AND at >= ?",
            (shop_id, str(kind), ts(since)),
        )
        assert row is not None
        return int(row["n"]), int(row["fen"])

    def add_cap_entry(
        self,
        key: CaseKey,
        *,
        decided_version: str | None,
        kind: CapEntryKind,
        amount: int,
        reason: str,
        detail: str = "",
        at: datetime | None = None,
    ) -> bool:
        with self.unit_of_work():
            cursor = self._write(
                "INSERT OR IGNORE INTO cap_ledger (platform, shop_id, case_id, decided_version, "
                "kind, amount, reason, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *key,
                    decided_version or "",
                    str(kind),
                    amount,
                    reason,
                    detail,
                    _ts_opt(at) or self._now(),
                ),
            )
            return cursor.rowcount == 1

    def cap_entry_exists(
        self, key: CaseKey, *, decided_version: str | None, kind: CapEntryKind
    ) -> bool:
        row = self._one(
            "SELECT 1 AS found FROM cap_ledger WHERE platform = ? AND shop_id = ? AND case_id = ?"
            " AND decided_version = ? AND kind = ?",
            (*key, decided_version or "", str(kind)),
        )
        return row is not None

    def cap_entries_by_reason(
        self, shop_id: str, *, kind: CapEntryKind, since: datetime, until: datetime
    ) -> dict[str, int]:
        rows = self._rows(
            "SELECT reason, count(*) AS n FROM cap_ledger WHERE shop_id = ? AND kind = ? "
            "AND at >= ? AND at < ? GROUP BY reason",
            (shop_id, str(kind), ts(since), ts(until)),
        )
        return {r["reason"]: int(r["n"]) for r in rows}

    def add_pause(
        self,
        *,
        shop_id: str | None,
        reason_code: str | None,
        hold_fallbacks: bool,
        why: str,
        actor: str,
        event: str,
        details: Mapping[str, Any] | None = None,
    ) -> PauseRecord:
        check_actor(actor)
        with self.unit_of_work():
            cursor = self._write(
                "INSERT INTO pauses (shop_id, reason_code, hold_fallbacks, why, paused_by, "
                "paused_at) VALUES (?, ?, ?, ?, ?, ?)",
                (shop_id, reason_code, int(hold_fallbacks), why, actor, self._now()),
            )
            pause_id = int(cursor.lastrowid or 0)
            _writer(_PAUSE_WRITERS, event)(
                self,
                actor=actor,
                shop_id=shop_id,
                pause_id=pause_id,
                reason_code=reason_code,
                hold_fallbacks=hold_fallbacks,
                why=why,
                **(details or {}),
            )
            row = self._written("pauses", pause_id)
            return _pause(row)

    def resume_pauses(
        self, *, shop_id: str | None, reason_code: str | None, actor: str, why: str = ""
    ) -> list[PauseRecord]:
        check_actor(actor)
        with self.unit_of_work():
            rows = self._rows(
                "SELECT id FROM pauses WHERE resumed_at IS NULL AND shop_id IS ? "
                "AND reason_code IS ?",
                (shop_id, reason_code),
            )
            ids = [int(r["id"]) for r in rows]
            now = self._now()
            for pause_id in ids:
                self._write(
                    "UPDATE pauses SET resumed_by = ?, resumed_at = ? WHERE id = ?",
                    (actor, now, pause_id),
                )
            if ids:
                audit_events.resumed(
                    self,
                    actor=actor,
                    shop_id=shop_id,
                    pause_ids=ids,
                    reason_code=reason_code,
                    why=why or None,
                )
                # Due at once, whatever the clock of whoever resumes (a CLI's or the daemon's).
                self._write(
                    "UPDATE effects SET next_attempt_at = created_at "
                    "WHERE status IN ('pending', 'unknown') AND last_error LIKE 'held: %'"
                )
            found = self._rows(
                f"SELECT * FROM pauses WHERE id IN ({','.join('?' * len(ids))})",  # noqa: S608
                tuple(ids),
            )
            return [_pause(r) for r in found]

    def open_pauses(self) -> list[PauseRecord]:
        rows = self._rows("SELECT * FROM pauses WHERE resumed_at IS NULL ORDER BY id")
        return [_pause(r) for r in rows]

    def get_decision(self, decision_id: int) -> DecisionRecord | None:
        row = self._one("SELECT * FROM decisions WHERE id = ?", (decision_id,))
        return None if row is None else _decision_record(row)

    def hold_effect(self, effect_id: int, *, until: datetime, why: str) -> None:
        with self.unit_of_work():
            self._write(
                "UPDATE effects SET next_attempt_at = ?, last_error = ?, updated_at = ? "
                "WHERE id = ? AND status IN ('pending', 'unknown')",
                (ts(until), f"held: {why}", self._now(), effect_id),
            )


# row -> record ---------------------------------------------------------------------------------
def _latest_per_case(table: str, where: str) -> str:
    """A subquery: the rows of ``table`` matching ``where``, only the newest (highest id) of each
    case."""
    return (
        f"SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY platform, shop_id, "  # noqa: S608
        f"case_id ORDER BY id DESC) AS nth FROM {table} WHERE {where}) WHERE nth = 1"
    )


def _ms(latency_ms: float | None) -> float | None:
    return None if latency_ms is None else round(float(latency_ms), 1)


def _default_guard(deadline: datetime | None) -> str | None:
    return None if deadline is None else ts(deadline - DEFAULT_GUARD_LEAD)


_EFFECT_WRITERS: dict[AuditEvent, Callable[..., AuditEntry]] = {
    AuditEvent.effect_attempt: audit_events.effect_attempt,
    AuditEvent.effect_done: audit_events.effect_done,
    AuditEvent.effect_failed: audit_events.effect_failed,
    AuditEvent.effect_superseded: audit_events.effect_superseded,
    AuditEvent.effect_cancelled: audit_events.effect_cancelled,
    AuditEvent.effect_requeued: audit_events.effect_requeued,
}

_APPROVAL_WRITERS: dict[str, Callable[..., AuditEntry]] = {
    ApprovalStatus.approved: audit_events.approval_approved,
    ApprovalStatus.declined: audit_events.approval_declined,
    ApprovalStatus.withdrawn: audit_events.approval_withdrawn,
    ApprovalStatus.overtaken: audit_events.approval_overtaken,
}
_ACCOUNT_WRITERS: dict[str, Callable[..., AuditEntry]] = {
    w.__name__: w
    for w in (
        audit_events.console_user_disabled,
        audit_events.console_user_enabled,
        audit_events.console_password_reset,
        audit_events.console_role_changed,
        audit_events.console_sessions_ended,
    )
}
_INSTALL_WRITERS: dict[str, Callable[..., AuditEntry]] = {
    w.__name__: w
    for w in (
        audit_events.policy_installed,
        audit_events.policy_promoted,
        audit_events.shadow_started,
        audit_events.shadow_stopped,
    )
}
_PAUSE_WRITERS: dict[str, Callable[..., AuditEntry]] = {
    w.__name__: w for w in (audit_events.paused, audit_events.breaker_tripped)
}


def _writer(
    writers: Mapping[str, Callable[..., AuditEntry]], event: str
) -> Callable[..., AuditEntry]:
    """The catalogue's writer for an event a store method writes under a caller-chosen name."""
    try:
        return writers[event]
    except KeyError:
        msg = f"audit event {event!r} cannot be written here (one of {', '.join(writers)})"
        raise StoreError(msg) from None


def _audit_entry(row: Mapping[str, Any]) -> AuditEntry:
    """One stored row; a row that is not an entry any more (edited by hand) says which seq."""
    try:
        return AuditEntry(
            seq=row["seq"],
            at=row["at"],
            actor=row["actor"],
            event=row["event"],
            platform=row["platform"],
            shop_id=row["shop_id"],
            case_id=row["case_id"],
            details=json.loads(row["details_json"]),
            prev_hash=row["prev_hash"],
            hash=row["hash"],
        )
    except (ValueError, TypeError) as exc:  # JSONDecodeError and ValidationError included
        reason = str(exc).splitlines()[0]
        raise UnreadableAuditEntryError(row["seq"], reason) from None


def _case_record(row: Mapping[str, Any]) -> CaseRecord:
    return CaseRecord(
        platform=row["platform"],
        shop_id=row["shop_id"],
        case_id=row["case_id"],
        order_id=row["order_id"],
        case=RefundCase.model_validate_json(row["case_json"]),
        version=row["version"],
        status=CaseStatus(row["status"]),
        state=CaseState(row["state"]),
        deadline_at=_dt(row["deadline_at"]),
        guard_at=_dt(row["guard_at"]),
        facts_hash=row["facts_hash"],
        next_review_at=_dt(row["next_review_at"]),
        claimed_by=row["claimed_by"],
        claim_expires_at=_dt(row["claim_expires_at"]),
        claimed_version=row["claimed_version"],
        assigned_to=row.get("assigned_to"),
        buyer_id=row["buyer_id"],
        first_seen_at=_dt_req(row["first_seen_at"]),
        last_seen_at=_dt_req(row["last_seen_at"]),
        changed_at=_dt_req(row["changed_at"]),
        raw=None if row["raw_json"] is None else json.loads(row["raw_json"]),
    )


def _decision_record(row: Mapping[str, Any]) -> DecisionRecord:
    return DecisionRecord(
        id=row["id"],
        platform=row["platform"],
        shop_id=row["shop_id"],
        case_id=row["case_id"],
        decided_version=row["decided_version"],
        policy_version=row["policy_version"],
        rule_id=row["rule_id"],
        action=row["action"],
        params=json.loads(row["params_json"]),
        trace=json.loads(row["trace_json"]),
        decided_at=_dt_req(row["decided_at"]),
        actor=row["actor"],
    )


def _effect_record(row: Mapping[str, Any]) -> EffectRecord:
    return EffectRecord(
        id=row["id"],
        key=row["effect_key"],
        platform=row["platform"],
        shop_id=row["shop_id"],
        case_id=row["case_id"],
        decision_id=row["decision_id"],
        position=row["position"],
        kind=EffectKind(row["kind"]),
        params=json.loads(row["params_json"]),
        decided_version=row["decided_version"],
        status=EffectStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=_dt(row["next_attempt_at"]),
        last_error=row["last_error"],
        last_platform_code=row["last_platform_code"],
        created_at=_dt_req(row["created_at"]),
        updated_at=_dt_req(row["updated_at"]),
        done_at=_dt(row["done_at"]),
    )


def _shop_record(row: Mapping[str, Any]) -> ShopRecord:
    return ShopRecord(
        platform=row["platform"],
        shop_id=row["shop_id"],
        cursor=row["cursor"],
        high_water_at=_dt(row["high_water_at"]),
        last_poll_at=_dt(row["last_poll_at"]),
        poll_lag_s=row["poll_lag_s"],
        last_full_reconciliation_at=_dt(row["last_full_reconciliation_at"]),
        first_polled_at=_dt(row["first_polled_at"]),
    )


def _quarantine_record(row: Mapping[str, Any]) -> QuarantineRecord:
    return QuarantineRecord(
        id=row["id"],
        platform=row["platform"],
        shop_id=row["shop_id"],
        case_id=row["case_id"],
        problems=json.loads(row["problems_json"]),
        raw=None if row["raw_json"] is None else json.loads(row["raw_json"]),
        first_seen_at=_dt_req(row["first_seen_at"]),
        last_seen_at=_dt_req(row["last_seen_at"]),
        seen_count=row["seen_count"],
        resolved=bool(row["resolved"]),
    )


def _task_record(row: Mapping[str, Any]) -> TaskRecord:
    return TaskRecord(
        id=row["id"],
        platform=row["platform"],
        shop_id=row["shop_id"],
        case_id=row["case_id"],
        kind=row["kind"],
        deadline_at=_dt(row["deadline_at"]),
        status=TaskStatus(row["status"]),
        details=json.loads(row["details_json"]),
        created_at=_dt_req(row["created_at"]),
        closed_at=_dt(row["closed_at"]),
        closed_by=row["closed_by"],
    )


def _claim_record(row: Any) -> CarrierClaimRecord:
    return CarrierClaimRecord(
        id=row["id"],
        platform=row["platform"],
        shop_id=row["shop_id"],
        case_id=row["case_id"],
        order_id=row["order_id"],
        sku=row["sku"],
        item_title=row["item_title"],
        quantity=row["quantity"],
        item_price=row["item_price"],
        claim_amount=row["claim_amount"],
        carrier=row["carrier"],
        waybill=row["waybill"],
        logistics_status=row["logistics_status"],
        status=row["status"],
        created_at=_dt_req(row["created_at"]),
        exported_at=_dt(row["exported_at"]),
    )


def _approval_record(row: Mapping[str, Any]) -> ApprovalRecord:
    return ApprovalRecord(
        id=row["id"], platform=row["platform"], shop_id=row["shop_id"], case_id=row["case_id"],
        action=row["action"], amount_fen=row["amount_fen"], reason=row["reason"],
        seen_version=row["seen_version"], requested_by=row["requested_by"],
        requested_at=_dt_req(row["requested_at"]), status=ApprovalStatus(row["status"]),
        closed_by=row["closed_by"], closed_at=_dt(row["closed_at"]),
        decision_id=row["decision_id"],
    )


def _console_user(row: Mapping[str, Any]) -> ConsoleUserRecord:
    return ConsoleUserRecord(
        name=row["name"],
        role=ConsoleRole(row["role"]),
        password_hash=row["password_hash"],
        created_at=_dt_req(row["created_at"]),
        created_by=row["created_by"],
        disabled=bool(row["disabled"]),
    )


def _policy_version(row: Mapping[str, Any]) -> PolicyVersionRecord:
    return PolicyVersionRecord(
        version=row["version"],
        name=row["name"],
        text=row["text"],
        first_seen_at=_dt_req(row["first_seen_at"]),
        first_seen_by=row["first_seen_by"],
    )


def _policy_install(row: Mapping[str, Any]) -> PolicyInstallRecord:
    return PolicyInstallRecord(
        id=int(row["id"]),
        version=row["version"],
        shop_id=row["shop_id"],
        role=PolicyRole(row["role"]),
        installed_by=row["installed_by"],
        installed_at=_dt_req(row["installed_at"]),
        note=row["note"] or "",
    )


def _shadow_decision(row: Mapping[str, Any]) -> ShadowDecisionRecord:
    return ShadowDecisionRecord(
        id=int(row["id"]),
        platform=row["platform"],
        shop_id=row["shop_id"],
        case_id=row["case_id"],
        decided_version=row["decided_version"],
        shadow_version=row["shadow_version"],
        rule_id=row["rule_id"],
        action=row["action"],
        refund_amount=int(row["refund_amount"]),
        live_version=row["live_version"],
        live_rule_id=row["live_rule_id"],
        live_action=row["live_action"],
        live_refund_amount=int(row["live_refund_amount"]),
        decided_at=_dt_req(row["decided_at"]),
        person_action=row.get("person_action"),
    )


def _pause(row: Mapping[str, Any]) -> PauseRecord:
    return PauseRecord(
        id=int(row["id"]),
        shop_id=row["shop_id"],
        reason_code=row["reason_code"],
        hold_fallbacks=bool(row["hold_fallbacks"]),
        why=row["why"],
        paused_by=row["paused_by"],
        paused_at=_dt_req(row["paused_at"]),
        resumed_by=row["resumed_by"],
        resumed_at=_dt(row["resumed_at"]),
    )
