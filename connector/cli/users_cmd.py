"""`users add|list`: console accounts (the first admin included), passwords hashed with scrypt."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from connector.clock import BEIJING
from connector.console.accounts import AccountError, add_account
from connector.errors import StoreError
from connector.paths import StateDirOption, resolve_state_dir
from connector.store import ConsoleRole, open_read_only_store, open_store

users_app = typer.Typer(name="users", help="Web console accounts.", no_args_is_help=True)
console = Console()


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
    role: Annotated[ConsoleRole, typer.Option("--role", help="reviewer, ops or admin.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    state_dir: StateDirOption = None,
) -> None:
    """Create a console account (prompts for the password unless --password-stdin)."""
    password = _read_password(password_stdin)
    try:
        store = open_store(resolve_state_dir(state_dir))
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        user = add_account(
            store, name, role, password, actor="system", via=f"cli (os user {_os_user()})"
        )
    except (AccountError, StoreError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    console.print(f"account {user.name} ({user.role.value}) created")


@users_app.command("list")
def list_users(state_dir: StateDirOption = None) -> None:
    """Console accounts with their roles (never their password hashes)."""
    try:
        store = open_read_only_store(resolve_state_dir(state_dir))
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        users = store.list_console_users()
    finally:
        store.close()
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
