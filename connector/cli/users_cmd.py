"""`users add|list|disable|enable|role|reset-password|sessions|end-sessions`: console accounts
(the first admin included), passwords hashed with scrypt; every change audited with the OS user."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from connector.clock import BEIJING, SystemClock
from connector.console.accounts import (
    AccountError,
    add_account,
    change_role,
    end_sessions,
    reset_password,
    set_disabled,
)
from connector.errors import StoreError
from connector.formatting import person_time
from connector.paths import StateDirOption, resolve_state_dir
from connector.store import ConsoleRole, Store, open_read_only_store, open_store

users_app = typer.Typer(name="users", help="Web console accounts.", no_args_is_help=True)
console = Console()
T = TypeVar("T")
RoleOption = Annotated[ConsoleRole, typer.Option("--role", help="reviewer, ops or admin.")]
PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def add(
    name: str,
    role: RoleOption,
    password_stdin: PasswordStdinOption = False,
    state_dir: StateDirOption = None,
) -> None:
    """Create a console account (prompts for the password unless --password-stdin)."""
    password = _read_password(password_stdin)
    with _writable(state_dir) as store:
        user = add_account(store, name, role, password, actor="system", via=_via())
    console.print(f"account {user.name} ({user.role.value}) created")


@users_app.command("list")
def list_users(state_dir: StateDirOption = None) -> None:
    """Console accounts with their roles (never their password hashes)."""
    users = _read(state_dir, lambda store: store.list_console_users())
    table = Table(title=f"console accounts: {len(users)}", header_style="bold")
    for column in ("account", "role", "created UTC+8", "created by", "disabled"):
        table.add_column(column)
    for user in users:
        table.add_row(
            user.name,
            user.role.value,
            user.created_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"),
            user.created_by,
            "yes" if user.disabled else "",
        )
    console.print(table)


def _via() -> str:
    return f"cli (os user {_os_user()})"


def _read(state_dir: Path | None, query: Callable[[Store], T]) -> T:
    try:
        store = open_read_only_store(resolve_state_dir(state_dir))
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        return query(store)
    finally:
        store.close()


@contextmanager
def _writable(state_dir: Path | None) -> Iterator[Store]:
    try:
        store = open_store(resolve_state_dir(state_dir))
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        yield store
    except (AccountError, StoreError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()


def _change(state_dir: Path | None, action: Callable[[Store], object], done: str) -> None:
    with _writable(state_dir) as store:
        action(store)
    console.print(done)


@users_app.command("disable")
def disable(name: str, state_dir: StateDirOption = None) -> None:
    """Disable an account: it cannot sign in and its sessions end now."""
    _change(state_dir, lambda s: set_disabled(s, name, True, actor="system", via=_via()),
            f"account {name} disabled; its sessions ended")


@users_app.command("enable")
def enable(name: str, state_dir: StateDirOption = None) -> None:
    """Enable a disabled account again."""
    _change(state_dir, lambda s: set_disabled(s, name, False, actor="system", via=_via()),
            f"account {name} enabled")


@users_app.command("role")
def role(
    name: str,
    new_role: RoleOption,
    state_dir: StateDirOption = None,
) -> None:
    """Change an account's role (effective on its next request)."""
    _change(state_dir,
            lambda s: change_role(s, name, new_role, actor="system", via=_via()),
            f"account {name} is now {new_role.value}")


@users_app.command("reset-password")
def reset(
    name: str,
    password_stdin: PasswordStdinOption = False,
    state_dir: StateDirOption = None,
) -> None:
    """Set a new password (prompted unless --password-stdin); the account's sessions end."""
    password = _read_password(password_stdin)
    _change(state_dir,
            lambda s: reset_password(s, name, password, actor="system", via=_via()),
            f"password of {name} reset; its sessions ended")


@users_app.command("sessions")
def sessions(state_dir: StateDirOption = None) -> None:
    """Signed-in console sessions (account, session id, since, until; Beijing time)."""
    live = _read(state_dir, lambda store: store.list_console_sessions(SystemClock().now()))
    table = Table(title=f"console sessions: {len(live)}", header_style="bold")
    for column in ("account", "session", "since", "until"):
        table.add_column(column)
    for session in live:
        table.add_row(session.user_name, session.token_hash[:12],
                      person_time(session.created_at), person_time(session.expires_at))
    console.print(table)


@users_app.command("end-sessions")
def end_all(name: str, state_dir: StateDirOption = None) -> None:
    """Sign an account out everywhere."""
    _change(state_dir, lambda s: end_sessions(s, name, actor="system", via=_via()),
            f"every session of {name} ended")
