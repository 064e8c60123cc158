"""What stands between a password guesser and the accounts.

- Every failed sign-in is audited (``console_login_failed``: the account typed and the client
  address, never the password).
- From the 6th failure within 15 minutes for one account *or* one address, sign-in answers 429
  until a wait that doubles with each further failure (1 s, 2 s, 4 s ... at most 15 minutes) has
  passed since the last failure; the refused try is audited and counts too. Counting from the
  audit log keeps the rule across restarts and processes.
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

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


def wait_seconds(store: Store, now: datetime, account: str, client_ip: str) -> float:
    """Seconds this account/address must still wait before a password is checked (0: go)."""
    entries = store.search_audit(event=LOGIN_FAILED_EVENT, since=now - FAILURE_WINDOW,
                                 limit=5000)
    mine = [
        e for e in entries
        if e.details.get("account") == account or e.details.get("client_ip") == client_ip
    ]
    by_account = sum(1 for e in mine if e.details.get("account") == account)
    by_address = sum(1 for e in mine if e.details.get("client_ip") == client_ip)
    failures = max(by_account, by_address)
    if failures < FREE_FAILURES or not mine:
        return 0.0
    wait = min(2.0 ** (failures - FREE_FAILURES), MAX_WAIT_S)
    last = max(e.at_datetime for e in mine)
    return max((last + timedelta(seconds=wait) - now).total_seconds(), 0.0)


def record_failure(
    store: Store, account: str, client_ip: str, *, why: str, wait_s: float = 0.0
) -> None:
    details: dict[str, object] = {"account": account[:64], "client_ip": client_ip, "why": why,
                                  "via": "console"}
    if wait_s:
        details["retry_after_s"] = round(wait_s, 1)
    with store.unit_of_work():
        store.append_audit(LOGIN_FAILED_EVENT, actor="system", details=details)


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
