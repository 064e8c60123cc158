"""One owner per state directory: an exclusive OS lock the serving process holds while it runs.

Two ``run`` on one state dir each took the other's sends in flight for crashed ones and resent
them (issue 14). ``acquire(state_dir, purpose)`` takes ``fcntl.flock(LOCK_EX | LOCK_NB)`` on
``connector.lock`` in the state dir and writes the holder (PID, start time, purpose, a random
token) into it; a second ``run``/``once``/``demo``/``restore`` is refused naming that holder.
The OS drops the lock when the holder dies, however it dies, so a stale lock file never blocks a
restart. Read commands never take it.

Worker processes share the supervisor's ownership: a flock belongs to the open file description,
so a forked child holds it with the parent, and a spawned one keeps it when it is given the
descriptor (``StateLock.pass_fds()``, ``StateLock.child_env()``). A worker proves that its
supervisor still holds the state with ``verify_held_for_child(state_dir)`` before it writes.
Guarded by tests/ops/test_statelock.py.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from connector.errors import StoreError

LOCK_FILE_NAME = "connector.lock"
TOKEN_ENV = "REFUND_CONNECTOR_STATE_LOCK_TOKEN"  # noqa: S105 - a variable name
FD_ENV = "REFUND_CONNECTOR_STATE_LOCK_FD"


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds a state directory, as recorded in its lock file."""

    pid: int
    started_at: str
    purpose: str
    host: str
    token: str

    def describe(self) -> str:
        return f"PID {self.pid} on {self.host} ({self.purpose}, started {self.started_at})"


class StateLockedError(StoreError):
    """Another process owns this state directory; nothing was opened or written."""

    def __init__(self, state_dir: Path, holder: LockHolder | None) -> None:
        self.state_dir = state_dir
        self.holder = holder
        who = holder.describe() if holder else "another process (its details are unreadable)"
        super().__init__(
            f"state dir {state_dir} is in use by {who}; stop it first "
            "(read commands such as `audit verify` and `backup` work beside it)"
        )


def lock_path(state_dir: Path) -> Path:
    return state_dir / LOCK_FILE_NAME


def _read_holder(fd: int) -> LockHolder | None:
    try:
        data = os.pread(fd, 4096, 0)
        doc = json.loads(data.decode("utf-8"))
        return LockHolder(
            pid=int(doc["pid"]),
            started_at=str(doc["started_at"]),
            purpose=str(doc["purpose"]),
            host=str(doc.get("host", "?")),
            token=str(doc["token"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


class StateLock:
    """The held lock; ``release()`` (or leaving the ``with`` block) gives it up."""

    def __init__(self, state_dir: Path, fd: int, holder: LockHolder, *, existed: bool) -> None:
        self.state_dir = state_dir
        self.path = lock_path(state_dir)
        self.holder = holder
        self.existed_before = existed
        """The lock file was there before: the state dir has been served before."""
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def pass_fds(self) -> tuple[int, ...]:
        """Give these to ``subprocess.Popen(pass_fds=...)``: the worker then shares the lock."""
        return () if self._fd is None else (self._fd,)

    def child_env(self) -> dict[str, str]:
        """Environment for a worker process, so it can prove its supervisor holds the state."""
        if self._fd is None:
            return {}
        return {TOKEN_ENV: self.holder.token, FD_ENV: str(self._fd)}

    def detach(self) -> None:
        """Close this process's descriptor only: workers sharing it keep the state owned (the
        lock ends when the last of them exits). ``release()`` instead ends it for all."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def release(self) -> None:
        """Give the state up (for every process sharing this lock) and close the descriptor."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> StateLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _open_lock_file(state_dir: Path) -> tuple[int, bool]:
    path = lock_path(state_dir)
    existed = path.exists()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        msg = f"cannot open the lock file {path}: {exc.strerror or exc}"
        raise StoreError(msg) from exc
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o600)
    return fd, existed


def acquire(state_dir: Path, purpose: str) -> StateLock:
    """Take the state directory for this process or raise ``StateLockedError`` naming the holder."""
    fd, existed = _open_lock_file(state_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _read_holder(fd)
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise StateLockedError(state_dir, holder) from None
        msg = f"cannot lock {lock_path(state_dir)}: {exc.strerror or exc}"
        raise StoreError(msg) from exc
    holder = LockHolder(
        pid=os.getpid(),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        purpose=purpose,
        host=socket.gethostname(),
        token=secrets.token_hex(16),
    )
    try:
        data = json.dumps(_as_dict(holder))
        os.ftruncate(fd, 0)
        os.pwrite(fd, data.encode("utf-8") + b"\n", 0)
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        msg = f"cannot write the lock file {lock_path(state_dir)}: {exc.strerror or exc}"
        raise StoreError(msg) from exc
    return StateLock(state_dir, fd, holder, existed=existed)


def _as_dict(holder: LockHolder) -> dict[str, object]:
    return {
        "pid": holder.pid,
        "started_at": holder.started_at,
        "purpose": holder.purpose,
        "host": holder.host,
        "token": holder.token,
    }


def current_holder(state_dir: Path) -> LockHolder | None:
    """The process holding the state dir now, or None when nobody does (never takes it)."""
    path = lock_path(state_dir)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        msg = f"cannot read the lock file {path}: {exc.strerror or exc}"
        raise StoreError(msg) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_holder(fd) or LockHolder(0, "?", "?", "?", "")
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def verify_held_for_child(state_dir: Path, env: Mapping[str, str] | None = None) -> LockHolder:
    """In a worker process: the state dir is held, by the supervisor that started this worker.

    The supervisor's token (``child_env()``) must match the one in the lock file, and the lock
    must be held; otherwise the worker must not write (its supervisor is gone or was replaced).
    """
    env = os.environ if env is None else env
    token = env.get(TOKEN_ENV, "")
    holder = current_holder(state_dir)
    if holder is None:
        msg = f"state dir {state_dir} is not held by any process: refusing to work in it"
        raise StoreError(msg)
    if not token or not secrets.compare_digest(token, holder.token):
        msg = f"state dir {state_dir} is held by {holder.describe()}, not by this worker's parent"
        raise StoreError(msg)
    return holder
