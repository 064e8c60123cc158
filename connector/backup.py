"""A consistent copy of ``connector.db`` taken while the daemon keeps writing.

SQLite's online backup API copies every page inside one read transaction, so the copy is the
database as of one commit even though the daemon (another connection, maybe another process)
goes on writing: in WAL mode readers never block the writer. The copy is made in a temporary
file beside the target, switched to a self-contained rollback journal, checked (integrity and
the audit hash chain) and only then renamed into place, so a half-written or bad copy never
carries the target's name.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from connector.audit import ChainHead, VerifyReport, verify_chain
from connector.errors import StoreError
from connector.store.sqlite import DEFAULT_BUSY_TIMEOUT_MS, SqliteStore, connect_read_only


class BackupError(StoreError):
    """The backup could not be made or did not verify; the target was left untouched."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What was written and what the check of the written copy found."""

    path: Path
    size_bytes: int
    integrity: str
    chain: VerifyReport
    head: ChainHead | None

    def describe(self) -> str:
        head = f"seq {self.head.seq}, hash {self.head.hash}" if self.head else "empty log"
        return (
            f"backup written to {self.path} ({self.size_bytes} bytes)\n"
            f"integrity_check: {self.integrity}\n"
            f"audit: {self.chain.describe()}\n"
            f"chain head: {head}"
        )


def _copy_pages(source: Path, target: Path, busy_timeout_ms: int) -> None:
    """Copy all pages in one step (one read snapshot) from a read-only connection."""
    try:
        # Read-only media too (issue 14): see ``connect_read_only``.
        src = connect_read_only(source, busy_timeout_ms=busy_timeout_ms)
    except StoreError as exc:
        msg = f"cannot open {source} for reading: {exc}"
        raise BackupError(msg) from exc
    try:
        dst = sqlite3.connect(str(target), isolation_level=None)
        try:
            src.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            src.backup(dst, pages=-1)
            # The copy inherits WAL mode from the page header; a backup should be one file.
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        msg = f"copying {source} failed: {exc}"
        raise BackupError(msg) from exc
    finally:
        src.close()


def _fsync(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def verify_copy(path: Path) -> tuple[str, VerifyReport, ChainHead | None]:
    """Open a database file read-only: its integrity check result and its audit chain report."""
    try:
        store = SqliteStore.open_read_only_file(path)
    except StoreError as exc:
        msg = f"the copy at {path} does not open: {exc}"
        raise BackupError(msg) from exc
    try:
        integrity = "; ".join(str(r[0]) for r in store.db.execute("PRAGMA integrity_check"))
        head = store.audit_head()
        chain = verify_chain(store.audit_entries(), head)
    except (sqlite3.Error, StoreError) as exc:
        msg = f"the copy at {path} cannot be read back: {exc}"
        raise BackupError(msg) from exc
    finally:
        store.close()
    return integrity, chain, head


def backup_database(
    source: Path,
    target: Path,
    *,
    overwrite: bool = False,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
) -> BackupReport:
    """Copy ``source`` to ``target`` atomically and verify the copy; raise ``BackupError``.

    An existing ``target`` is refused unless ``overwrite``; a copy that fails its checks is
    deleted and never renamed into place.
    """
    if not source.is_file():
        msg = f"no connector database at {source} (wrong --state-dir?)"
        raise BackupError(msg)
    target = target.expanduser()
    if target.exists() and not overwrite:
        msg = f"{target} already exists; pass --force to overwrite it"
        raise BackupError(msg)
    if target.exists() and not target.is_file():
        msg = f"{target} exists and is not a regular file"
        raise BackupError(msg)
    if target.resolve() == source.resolve():
        msg = "the backup target is the live database itself"
        raise BackupError(msg)
    folder = target.parent
    if not folder.is_dir():
        msg = f"directory {folder} does not exist"
        raise BackupError(msg)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _copy_pages(source, tmp, busy_timeout_ms)
        _fsync(tmp)
        integrity, chain, head = verify_copy(tmp)
        if integrity != "ok":
            msg = f"the copy failed PRAGMA integrity_check: {integrity}"
            raise BackupError(msg)
        if not chain.intact:
            msg = f"the copy's {chain.describe()}"
            raise BackupError(msg)
        size = tmp.stat().st_size
        _place(tmp, target, overwrite=overwrite)
        _fsync(folder, directory=True)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return BackupReport(path=target, size_bytes=size, integrity=integrity, chain=chain, head=head)


def _place(tmp: Path, target: Path, *, overwrite: bool) -> None:
    """Rename into place; without ``overwrite`` a file created meanwhile is still not replaced."""
    try:
        if overwrite:
            os.replace(tmp, target)
            return
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise
        except OSError:
            # No hard links on this file system: check, then rename (a narrow race remains).
            if target.exists():
                raise FileExistsError(str(target)) from None
            os.replace(tmp, target)
            return
    except FileExistsError as exc:
        msg = f"{target} already exists; pass --force to overwrite it"
        raise BackupError(msg) from exc
    except OSError as exc:
        msg = f"cannot write {target}: {exc}"
        raise BackupError(msg) from exc
    tmp.unlink()
