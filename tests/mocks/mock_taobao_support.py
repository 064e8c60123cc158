"""Helpers for the fake-platform tests: a Taobao fake on real loopback HTTP with a shared FakeClock.

The signer here is written in the test, from platform-apis.md §1.2 - never the adapter's.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from connector.clock import FakeClock
from mocks.kit.server import BackgroundServer
from mocks.taobao import TaobaoConfig, TaobaoMock, create_app

GMT8 = timezone(timedelta(hours=8))
START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


def top_sign(params: dict[str, str], secret: str, method: str = "md5") -> str:
    text = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign" and v)
    if method == "md5":
        return hashlib.md5((secret + text + secret).encode()).hexdigest().upper()
    algo = hashlib.md5 if method == "hmac" else hashlib.sha256
    return hmac.new(secret.encode(), text.encode(), algo).hexdigest().upper()


class Top:
    """A minimal signed TOP client for tests."""

    def __init__(
        self,
        http: httpx.Client,
        clock: FakeClock,
        session: str,
        app_key: str = "12345678",
        secret: str = "testsecret",
    ) -> None:
        self.http, self.clock, self.session = http, clock, session
        self.app_key, self.secret = app_key, secret

    def params(self, method: str, sign_method: str = "md5", **app: Any) -> dict[str, str]:
        params = {
            "method": method,
            "app_key": self.app_key,
            "session": self.session,
            "timestamp": self.clock.now().astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S"),
            "v": "2.0",
            "format": "json",
            "sign_method": sign_method,
            **{k: str(v) for k, v in app.items() if v is not None},
        }
        params["sign"] = top_sign(params, self.secret, sign_method)
        return params

    def raw(self, params: dict[str, str], files: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post("/router/rest", data=params, files=files)

    def call(self, method: str, files: dict[str, Any] | None = None, **app: Any) -> dict[str, Any]:
        response = self.raw(self.params(method, **app), files)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def ok(self, method: str, files: dict[str, Any] | None = None, **app: Any) -> dict[str, Any]:
        body = self.call(method, files, **app)
        key = method.removeprefix("taobao.").replace(".", "_") + "_response"
        assert key in body, body
        inner: dict[str, Any] = body[key]
        return inner

    def error(self, method: str, files: dict[str, Any] | None = None, **app: Any) -> dict[str, Any]:
        body = self.call(method, files, **app)
        assert "error_response" in body, body
        err: dict[str, Any] = body["error_response"]
        return err


class Fake:
    """Everything a test needs: the mock, its URL, a control client and signed TOP clients."""

    def __init__(self, mock: TaobaoMock, url: str, clock: FakeClock) -> None:
        self.mock, self.url, self.clock = mock, url, clock
        self.http = httpx.Client(base_url=url, timeout=10)
        self.taobao = Top(self.http, clock, "test-session")
        self.tmall = Top(self.http, clock, "test-session-tmall")

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/__mock{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def case(self, **spec: Any) -> str:
        spec.setdefault("shop_id", "taobao-shop")
        ids: list[str] = self.control("POST", "/cases", {"cases": [spec]})["case_ids"]
        return ids[0]

    def view(self, case_id: str) -> dict[str, Any]:
        view: dict[str, Any] = self.control("GET", f"/cases/{case_id}")
        return view

    def ledger(self, since: int = 0) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.control("GET", f"/ledger?since={since}")["entries"]
        return entries


def start_fake(clock: FakeClock, config: TaobaoConfig | None = None) -> Iterator[Fake]:
    mock = TaobaoMock(config or TaobaoConfig(), clock=clock)
    with BackgroundServer(create_app(mock, test_mode=True)) as url:
        fake = Fake(mock, url, clock)
        yield fake
        fake.http.close()
