"""The console beside a running daemon: from ``run`` ([console] enabled) and ``demo --serve``."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette

from connector.adapter import PlatformAdapter
from connector.clock import Clock
from connector.console.accounts import add_account
from connector.console.app import RevealHook, create_console_app
from connector.console.server import ConsoleServer
from connector.errors import UnsupportedEffectError
from connector.formatting import parse_yuan
from connector.reveal import reveal_contact
from connector.review import Reviewer
from connector.settings import ConsoleSettings
from connector.store import CaseKey, ConsoleRole, Store

DEMO_ACCOUNTS = (
    ("reviewer", ConsoleRole.reviewer),
    ("ops", ConsoleRole.ops),
    ("admin", ConsoleRole.admin),
)


def approval_limits(settings: ConsoleSettings) -> dict[ConsoleRole, int]:
    """``[console] approval_limits_yuan`` in fen per role."""
    return {
        ConsoleRole(role): parse_yuan(f"{limit:.2f}")
        for role, limit in settings.approval_limits_yuan.items()
    }


def reveal_hook(adapters: Mapping[tuple[str, str], PlatformAdapter]) -> RevealHook:
    """Reveal through the case's own shop adapter (audited by ``reveal_contact``)."""

    def reveal(store: Store, key: CaseKey, reviewer: Reviewer) -> Mapping[str, Any]:
        adapter = adapters.get((key[0], key[1]))
        if adapter is None:
            raise UnsupportedEffectError(
                f"no adapter runs shop {key[0]}:{key[1]} in this process",
                platform=key[0], operation="reveal_buyer_contact", case_id=key[2],
            )
        return reveal_contact(store, adapter, key, reviewer)

    return reveal


def image_hosts(adapters: Mapping[tuple[str, str], PlatformAdapter]) -> dict[str, frozenset[str]]:
    """Per platform, the evidence image hosts its adapters declare."""
    hosts: dict[str, frozenset[str]] = {}
    for (platform, _), adapter in adapters.items():
        hosts[platform] = hosts.get(platform, frozenset()) | adapter.image_hosts
    return hosts


def desk_app(
    store: Store,
    clock: Clock,
    *,
    settings: ConsoleSettings | None = None,
    adapters: Mapping[tuple[str, str], PlatformAdapter] | None = None,
) -> Starlette:
    """The console over the daemon's own store and clock, wired to the daemon's ``adapters``
    (per shop) for revealing buyer contact, evidence image hosts and capabilities."""
    desk = settings or ConsoleSettings()
    return create_console_app(
        store,
        clock=clock,
        reveal=None if adapters is None else reveal_hook(adapters),
        secure_cookies=desk.cookie_secure,
        allowed_hosts=desk.allowed_hosts,
        trusted_proxies=desk.trusted_proxies,
        approval_limits=approval_limits(desk),
        image_hosts=image_hosts(adapters or {}),
        capabilities={platform: adapter.capabilities
                      for (platform, _), adapter in (adapters or {}).items()},
    )


def console_server(
    store: Store,
    clock: Clock,
    *,
    host: str,
    port: int | None,
    settings: ConsoleSettings | None = None,
    adapters: Mapping[tuple[str, str], PlatformAdapter] | None = None,
) -> ConsoleServer:
    """A not-yet-started server for the console (see ``desk_app``)."""
    app = desk_app(store, clock, settings=settings, adapters=adapters)
    return ConsoleServer(app, host=host, port=port)


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
