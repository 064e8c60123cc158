"""The console beside the daemon: `demo --serve`'s hook and the loopback-only server."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, ClassVar

import httpx
import pytest
from console_helpers import queue_case
from rich.console import Console

from connector.adapter import Capability
from connector.clock import FakeClock
from connector.console.server import ConsoleServer
from connector.demo_serve import serve_hook
from connector.errors import ConfigError
from connector.store import ConsoleRole, Store


def test_demo_serve_prints_the_url_and_logins_that_work(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = Console(record=True, width=200)
    printed: list[dict[str, Any]] = []
    seen: dict[str, Any] = {}

    def while_serving() -> None:
        text = out.export_text(clear=False)
        url = re.search(r"console: (http://127\.0\.0\.1:\d+)/", text)
        login = re.search(r"login reviewer / (\S+)", text)
        assert url, text
        assert login, text
        with httpx.Client(base_url=url.group(1)) as browser:
            form = browser.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf
            seen["queue"] = browser.post(
                "/login",
                data={"account": "reviewer", "password": login.group(1), "csrf": csrf.group(1)},
                follow_redirects=True,
            )

    hook = serve_hook(out, lambda summary, _c: printed.append(summary), None, wait=while_serving)
    hook({"cases": 3}, store, clock, None)
    assert printed == [{"cases": 3}]
    assert seen["queue"].status_code == 200
    assert "待审队列" in seen["queue"].text
    roles = {u.name: u.role.value for u in store.list_console_users()}
    assert roles == {"reviewer": "reviewer", "ops": "ops", "admin": "admin"}


def test_the_console_listens_on_loopback_only() -> None:
    with pytest.raises(ConfigError, match="loopback only"):
        ConsoleServer(object(), host="0.0.0.0")


class _ShopThatReveals:
    """The adapter surface the reveal uses: a shop whose platform gives buyer contact."""

    platform = "taobao"
    settings = SimpleNamespace(shop_id="s1")
    capabilities = frozenset({Capability.buyer_contact})
    missing_capabilities: ClassVar[dict[Capability, str]] = {}
    image_hosts: ClassVar[frozenset[str]] = frozenset()

    def reveal_buyer_contact(self, case_id: str) -> dict[str, str]:
        return {"phone": "13900001111"}


def test_demo_serve_wires_the_reveal_to_the_daemons_adapters(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_case(store, timedelta(hours=5))
    out = Console(record=True, width=200)
    seen: dict[str, Any] = {}

    def while_serving() -> None:
        text = out.export_text(clear=False)
        url = re.search(r"console: (http://127\.0\.0\.1:\d+)/", text)
        login = re.search(r"login ops / (\S+)", text)
        assert url
        assert login
        with httpx.Client(base_url=url.group(1)) as browser:
            form = browser.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf
            page = browser.post("/login", data={"account": "ops", "password": login.group(1),
                                                "csrf": csrf.group(1)}, follow_redirects=True)
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token
            seen["reveal"] = browser.post("/cases/taobao/s1/R1/reveal",
                                          data={"csrf": token.group(1)})

    hook = serve_hook(out, lambda summary, _c: None, None, wait=while_serving)
    shop = SimpleNamespace(adapter=_ShopThatReveals())
    daemon = SimpleNamespace(store=store, clock=clock, shops={("taobao", "s1"): shop})
    hook({"cases": 1}, store, clock, daemon)
    assert seen["reveal"].status_code == 200
    assert "13900001111" in seen["reveal"].text
    assert "buyer_contact_revealed" in [e.event for e in store.audit_entries()]


def test_run_serves_the_console_with_the_desk_settings_and_the_daemons_adapters(
    store: Store, clock: FakeClock
) -> None:
    from connector.cli.daemon_cmd import _console_server
    from connector.settings import ConnectorSettings

    settings = ConnectorSettings.model_validate({"console": {
        "enabled": True, "cookie_secure": True, "allowed_hosts": ["desk.example"],
        "approval_limits_yuan": {"reviewer": "1000.50"},
    }})
    daemon = SimpleNamespace(store=store, clock=clock,
                             shops={("taobao", "s1"): SimpleNamespace(adapter=_ShopThatReveals())})
    server = _console_server(settings, daemon)
    config = server._server.config.app.state.console
    assert config.reveal is not None
    assert config.secure_cookies is True
    assert dict(config.approval_limits) == {ConsoleRole.reviewer: 100050}
    assert server._server.config.server_header is False
