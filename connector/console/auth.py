"""Sessions and CSRF for the console: a random cookie token whose SHA-256 is the session key
in the store (so a copied database holds no usable session), one CSRF token per session that
every POST must echo in a hidden field, and a separate double-submit token for the login form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from connector.store import ConsoleRole, ConsoleSessionRecord, ConsoleUserRecord, Store

SESSION_COOKIE = "rc_session"
LOGIN_CSRF_COOKIE = "rc_login_csrf"
LANG_COOKIE = "rc_lang"
SESSION_TTL = timedelta(hours=8)
ALL_ROLES = frozenset(ConsoleRole)
REVEAL_ROLES = frozenset({ConsoleRole.ops, ConsoleRole.admin})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; a missing token on either side never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def start_session(
    store: Store, user: ConsoleUserRecord, now: datetime, ttl: timedelta = SESSION_TTL
) -> tuple[str, ConsoleSessionRecord]:
    """A new session for ``user``; returns the cookie token (only its hash is stored)."""
    token = new_token()
    record = store.create_console_session(
        token_hash(token), user.name, csrf_token=new_token(), expires_at=now + ttl
    )
    return token, record


def session_user(
    store: Store, token: str | None, now: datetime
) -> tuple[ConsoleSessionRecord, ConsoleUserRecord] | None:
    """The live session and its account for a cookie token, or None (missing/expired/disabled)."""
    if not token:
        return None
    session = store.get_console_session(token_hash(token), now)
    if session is None:
        return None
    user = store.get_console_user(session.user_name)
    if user is None or user.disabled:
        return None
    return session, user
