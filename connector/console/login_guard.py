"""What stands between a password guesser and the accounts.

- Every failed sign-in is audited (``console_login_failed``: the account typed and the client
  address, never the password).
- From the 6th failure within 15 minutes for one account *or* one address, sign-in answers 429
  until a wait that doubles with each further failure (1 s, 2 s, 4 s ... at most 15 minutes) has
  passed since the last failure; a try while waiting counts too and is audited once per wait.
  The counts live in memory (a refused try costs no database work), loaded from the audit log
  on first use so a restart does not reset them.
- Password hashing (scrypt, ~16 MiB and tens of ms) runs in its own small pool, never on the
  event loop nor in the page handlers' threads, so a login flood cannot starve the queue.
- The login form's CSRF token is issued and signed by the server (a client cannot choose it).

Guarded by tests/console/test_accounts_and_guard.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from connector import audit_events
from connector.store import Store

LOGIN_FAILED_EVENT = "console_login_failed"
FAILURE_WINDOW = timedelta(minutes=15)
FREE_FAILURES = 5
MAX_WAIT_S = FAILURE_WINDOW.total_seconds()
LOGIN_TOKEN_TTL = timedelta(hours=2)

T = TypeVar("T")

HASH_WORKERS = max(1, (os.cpu_count() or 2) // 2)
_hash_pool = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="console-scrypt")


async def in_hash_pool(func: Callable[..., T], *args: object) -> T:
    """Run a password check in the bounded hashing pool (at most ``HASH_WORKERS`` at once)."""
    return await asyncio.get_running_loop().run_in_executor(_hash_pool, func, *args)


class LoginThrottle:
    """Failure times per account and per address over the last 15 minutes, in memory (a
    refused try costs a dictionary lookup, not a database query or an fsync), filled from the
    audit log when first used so a restart does not reset the count."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._failures: dict[str, deque[datetime]] = defaultdict(deque)
        self._audited_until: dict[str, datetime] = {}
        self._loaded = False

    def _load(self, now: datetime) -> None:
        if self._loaded:
            return
        self._loaded = True
        for entry in self._store.search_audit(event=LOGIN_FAILED_EVENT,
                                              since=now - FAILURE_WINDOW, limit=5000):
            for key in _keys(str(entry.details.get("account", "")),
                             str(entry.details.get("client_ip", ""))):
                self._failures[key].appendleft(entry.at_datetime)

    def wait_seconds(self, now: datetime, account: str, client_ip: str) -> float:
        """Seconds this account/address must still wait before a password is checked."""
        with self._lock:
            self._load(now)
            worst = 0.0
            for key in _keys(account, client_ip):
                times = self._failures[key]
                while times and times[0] <= now - FAILURE_WINDOW:
                    times.popleft()
                if len(times) < FREE_FAILURES:
                    continue
                wait = min(2.0 ** (len(times) - FREE_FAILURES), MAX_WAIT_S)
                worst = max(worst, (times[-1] + timedelta(seconds=wait) - now).total_seconds())
            return max(worst, 0.0)

    def failed(
        self, now: datetime, account: str, client_ip: str, *, why: str, wait_s: float = 0.0
    ) -> None:
        """Count a failure (a wrong password, or a try while waiting: the wait grows) and
        audit it; tries refused while waiting are audited once per wait, not each."""
        keys = _keys(account, client_ip)
        with self._lock:
            for key in keys:
                self._failures[key].append(now)
            if why == "throttled":
                quiet = all(self._audited_until.get(k, now) > now for k in keys)
                for key in keys:
                    self._audited_until[key] = now + timedelta(seconds=wait_s)
                if quiet:
                    return
        record_failure(self._store, account, client_ip, why=why, wait_s=wait_s)


def record_failure(
    store: Store, account: str, client_ip: str, *, why: str, wait_s: float = 0.0
) -> None:
    """Audit a failed sign-in: the account typed and the address, never the password."""
    retry: dict[str, Any] = {"retry_after_s": round(wait_s, 1)} if wait_s else {}
    with store.unit_of_work():
        audit_events.console_login_failed(
            store, account=account[:64], client_ip=client_ip, why=why, via="console", **retry
        )


def _keys(account: str, client_ip: str) -> tuple[str, str]:
    return (f"account:{account}", f"address:{client_ip}")


class LoginTokens:
    """Server-signed login CSRF tokens: ``issued.nonce.mac`` with a per-process key."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self, now: datetime) -> str:
        body = f"{int(now.timestamp())}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._mac(body)}"

    def valid(self, token: str | None, now: datetime) -> bool:
        if not token or token.count(".") != 2:
            return False
        issued, nonce, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(f"{issued}.{nonce}")):
            return False
        try:
            age = now.timestamp() - int(issued)
        except ValueError:
            return False
        return 0 <= age <= LOGIN_TOKEN_TTL.total_seconds()
