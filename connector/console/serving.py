"""The console beside a running daemon: from ``run`` ([console] enabled) and ``demo --serve``."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

from rich.console import Console

from connector.clock import Clock
from connector.console.accounts import add_account
from connector.console.app import create_console_app
from connector.console.server import ConsoleServer
from connector.store import ConsoleRole, Store

DEMO_ACCOUNTS = (
    ("reviewer", ConsoleRole.reviewer),
    ("ops", ConsoleRole.ops),
    ("admin", ConsoleRole.admin),
)


def console_server(store: Store, clock: Clock, *, host: str, port: int | None) -> ConsoleServer:
    """A not-yet-started server for the console over the daemon's own store and clock."""
    return ConsoleServer(create_console_app(store, clock=clock), host=host, port=port)


def create_demo_accounts(store: Store) -> list[tuple[str, str, str]]:
    """One account per role with a fresh random password: (name, role, password)."""
    made = []
    for name, role in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        add_account(store, name, role, password, actor="system", via="demo")
        made.append((name, role.value, password))
    return made


def wait_for_interrupt() -> None:
    """Block the main thread until Ctrl-C."""
    forever = threading.Event()
    try:
        while not forever.wait(1.0):
            pass
    except KeyboardInterrupt:
        return


def demo_serve_hook(
    console: Console,
    print_summary: Callable[[dict[str, Any], Console], None],
    port: int | None,
) -> Callable[[dict[str, Any], Store, Clock], None]:
    """For ``demo --serve``: print the summary, then serve the console until Ctrl-C while the
    fakes and the daemon keep running."""

    def hook(summary: dict[str, Any], store: Store, clock: Clock) -> None:
        print_summary(summary, console)
        logins = create_demo_accounts(store)
        with console_server(store, clock, host="127.0.0.1", port=port) as url:
            console.print(f"\n[bold]console:[/bold] {url}/  (Ctrl-C stops the demo)")
            for name, role, password in logins:
                console.print(f"  login {name} / {password}  ({role})")
            wait_for_interrupt()

    return hook
