"""The console beside the daemon: `demo --serve`'s hook and the loopback-only server."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from rich.console import Console

from connector.clock import FakeClock
from connector.console import serving
from connector.console.server import ConsoleServer
from connector.errors import ConfigError
from connector.store import Store


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

    monkeypatch.setattr(serving, "wait_for_interrupt", while_serving)
    hook = serving.demo_serve_hook(out, lambda summary, _c: printed.append(summary), None)
    hook({"cases": 3}, store, clock)
    assert printed == [{"cases": 3}]
    assert seen["queue"].status_code == 200
    assert "待审队列" in seen["queue"].text
    roles = {u.name: u.role.value for u in store.list_console_users()}
    assert roles == {"reviewer": "reviewer", "ops": "ops", "admin": "admin"}


def test_the_console_listens_on_loopback_only() -> None:
    with pytest.raises(ConfigError, match="loopback only"):
        ConsoleServer(object(), host="0.0.0.0")
