"""Console accounts: names, roles and scrypt password hashes (the password itself is never kept).

The hash string carries its own parameters (``scrypt$n$r$p$salt$key``) so they can be raised
later without breaking stored accounts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from connector.errors import ConnectorError
from connector.store import ConsoleRole, ConsoleUserRecord, Store

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_KEY_BYTES = 32
MIN_PASSWORD_CHARS = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
"""The audit log's rule for ``human:<name>`` actors, so every account can be an actor."""


class AccountError(ConnectorError):
    """An account cannot be created or used as asked; the message says why."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """A salted scrypt hash (deliberately slow: ~16 MiB and tens of ms per check)."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=_KEY_BYTES
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; a malformed hash never matches."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def check_name(name: str) -> str:
    if not _NAME.match(name):
        msg = (
            f"account name {name!r} must be 1-64 letters, digits or . _ @ - "
            "(starting with a letter or digit)"
        )
        raise AccountError(msg)
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        msg = f"a password needs at least {MIN_PASSWORD_CHARS} characters"
        raise AccountError(msg)
    return password


def add_account(
    store: Store, name: str, role: ConsoleRole | str, password: str, *, actor: str, via: str
) -> ConsoleUserRecord:
    """Create an account; audited with who created it and through which tool."""
    check_name(name)
    check_password(password)
    try:
        chosen = ConsoleRole(role)
    except ValueError:
        msg = f"role {role!r} is not one of {', '.join(r.value for r in ConsoleRole)}"
        raise AccountError(msg) from None
    if store.get_console_user(name) is not None:
        msg = f"account {name!r} already exists"
        raise AccountError(msg)
    return store.add_console_user(
        name, chosen, hash_password(password), actor=actor, details={"via": via}
    )


def authenticate(store: Store, name: str, password: str) -> ConsoleUserRecord | None:
    """The account if the password matches; the same work is done for an unknown name."""
    user = store.get_console_user(name) if _NAME.match(name) else None
    if user is None or user.disabled:
        verify_password(password, _DUMMY_HASH)
        return None
    return user if verify_password(password, user.password_hash) else None


def _existing(store: Store, name: str) -> ConsoleUserRecord:
    user = store.get_console_user(name)
    if user is None:
        msg = f"no account {name!r}"
        raise AccountError(msg)
    return user


def _last_admin(store: Store, name: str) -> bool:
    admins = [u for u in store.list_console_users()
              if u.role is ConsoleRole.admin and not u.disabled]
    return [u.name for u in admins] == [name]


def set_disabled(
    store: Store, name: str, disabled: bool, *, actor: str, via: str
) -> ConsoleUserRecord:
    """Disable (its sessions end at once) or enable an account; the last admin stays enabled."""
    _existing(store, name)
    if disabled and _last_admin(store, name):
        msg = f"{name!r} is the last enabled admin; add another admin first"
        raise AccountError(msg)
    return store.update_console_user(
        name, actor=actor, event="console_user_disabled" if disabled else "console_user_enabled",
        disabled=disabled, end_sessions=disabled, details={"via": via},
    )


def reset_password(
    store: Store, name: str, password: str, *, actor: str, via: str
) -> ConsoleUserRecord:
    """A new password; the account's sessions end (whoever knew the old one is signed out)."""
    _existing(store, name)
    check_password(password)
    return store.update_console_user(
        name, actor=actor, event="console_password_reset", password_hash=hash_password(password),
        end_sessions=True, details={"via": via},
    )


def change_role(
    store: Store, name: str, role: ConsoleRole | str, *, actor: str, via: str
) -> ConsoleUserRecord:
    """A new role, effective on the account's next request; the last admin keeps admin."""
    user = _existing(store, name)
    try:
        chosen = ConsoleRole(role)
    except ValueError:
        msg = f"role {role!r} is not one of {', '.join(r.value for r in ConsoleRole)}"
        raise AccountError(msg) from None
    if user.role is ConsoleRole.admin and chosen is not ConsoleRole.admin and _last_admin(
        store, name
    ):
        msg = f"{name!r} is the last enabled admin; add another admin first"
        raise AccountError(msg)
    return store.update_console_user(
        name, actor=actor, event="console_role_changed", role=chosen, details={"via": via}
    )


def end_sessions(store: Store, name: str, *, actor: str, via: str) -> None:
    """Sign the account out everywhere (audited with how many sessions ended)."""
    _existing(store, name)
    store.update_console_user(
        name, actor=actor, event="console_sessions_ended", end_sessions=True,
        details={"via": via},
    )
