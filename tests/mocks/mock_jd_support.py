"""Helpers for the JD fake tests: the fake on real loopback HTTP sharing a FakeClock, and a
signed JOS client whose signer is written here from platform-apis.md §2.1 (never the adapter's).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from connector.clock import FakeClock
from connector.testing.mock_control import MockControl
from mocks.jd import JdConfig, JdMock, create_app
from mocks.kit.server import BackgroundServer

GMT8 = timezone(timedelta(hours=8))
JD_START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
APP_KEY, SECRET, TOKEN, BU_ID = "jd-app-key", "jd-app-secret", "jd-test-token", "10001"
OPERATOR = {"buId": BU_ID, "operatePin": "seller_op", "operateNick": "售后小王"}
REFUND_APPLY = "jingdong.pop.afs.soa.refundapply."


def jos_sign(params: dict[str, str], secret: str) -> str:
    text = secret + "".join(k + params[k] for k in sorted(params) if k != "sign") + secret
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


def envelope_key(method: str) -> str:
    return method.replace(".", "_") + "_responce"


class Jos:
    """A minimal signed JOS client for tests."""

    def __init__(self, http: httpx.Client, clock: FakeClock, token: str = TOKEN) -> None:
        self.http, self.clock, self.token = http, clock, token
        self.app_key, self.secret = APP_KEY, SECRET

    def params(
        self, method: str, business: dict[str, Any] | None = None, **system: str
    ) -> dict[str, str]:
        """Signed system params; ``system`` overrides or adds (e.g. ``format``)."""
        now = self.clock.now().astimezone(GMT8)
        params = {"method": method, "app_key": self.app_key, "access_token": self.token}
        params["v"] = "2.0"
        params["timestamp"] = now.strftime("%Y-%m-%d %H:%M:%S")
        params["360buy_param_json"] = json.dumps(business or {}, ensure_ascii=False, sort_keys=True)
        params |= system
        params["sign"] = jos_sign(params, self.secret)
        return params

    def raw(self, params: dict[str, str], *, as_query: bool = False) -> httpx.Response:
        if as_query:
            return self.http.post("/routerjson", params=params)
        return self.http.post("/routerjson", data=params)

    def call(self, method: str, business: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.raw(self.params(method, business))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def ok(self, method: str, business: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.call(method, business)
        key = envelope_key(method)
        assert key in body, body
        assert body[key]["code"] == "0"
        inner: dict[str, Any] = body[key]
        return inner

    def error(self, method: str, business: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.call(method, business)
        assert "error_response" in body, body
        err: dict[str, Any] = body["error_response"]
        return err

    def asc(self, name: str, **business: Any) -> dict[str, Any]:
        """An ``jingdong.asc.*`` call with the operator fields filled in."""
        inner = self.ok(f"jingdong.asc.{name}", {**OPERATOR, **business})
        key = "pageResult" if "pageResult" in inner else "result"
        result: dict[str, Any] = inner[key]
        return result

    def refund(self, name: str, **business: Any) -> dict[str, Any]:
        inner = self.ok(REFUND_APPLY + name, business)
        key = "replyResult" if "replyResult" in inner else "queryResult"
        result: dict[str, Any] = inner[key]
        return result


class JdFake:
    """The mock, its URL, the shared control client and a signed JOS client."""

    def __init__(self, mock: JdMock, url: str, clock: FakeClock, control: MockControl) -> None:
        self.mock, self.url, self.clock, self.mc = mock, url, clock, control
        self.http = httpx.Client(base_url=url, timeout=10)
        self.jos = Jos(self.http, clock)

    def control(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        """A raw control call whose HTTP status must be ``status`` (to test 400/404 answers)."""
        answer = self.http.request(method, "/__mock" + path, json=body)
        assert answer.status_code == status, answer.text
        return answer.json()

    def cases(self, *specs: dict[str, Any]) -> list[str]:
        return self.mc.seed([{"shop_id": "jd-shop", **spec} for spec in specs])

    def case(self, **spec: Any) -> str:
        (case_id,) = self.cases(spec)
        return case_id

    def view(self, case_id: str) -> dict[str, Any]:
        return self.mc.case(case_id)

    def ledger(self, since: int = 0) -> list[dict[str, Any]]:
        return self.mc.ledger(since)[0]

    def advance(self, seconds: float) -> list[dict[str, Any]]:
        """Move platform time; the timers' auto-acts."""
        moved = self.control("POST", "/clock", {"advance_s": seconds})
        acts: list[dict[str, Any]] = moved["auto_acts"]
        return acts

    def service(self, case_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.jos.asc("query.view", serviceId=int(case_id))["data"]
        return data

    def write(self, name: str, case_id: str, **extra: Any) -> dict[str, Any]:
        """An asc write carrying the order's current sysVersion unless one is given."""
        current = self.service(case_id)
        business = {"serviceId": int(case_id), "orderId": current["orderId"]}
        business["sysVersion"] = current["sysVersion"]
        business.update(extra)
        return self.jos.asc(name, **business)


def start_jd(clock: FakeClock, config: JdConfig | None = None) -> Iterator[JdFake]:
    """A JD fake in test mode on a free loopback port for the duration of the generator."""
    mock = JdMock(config or JdConfig(), clock=clock)
    server = BackgroundServer(create_app(mock, test_mode=True))
    with server as url, MockControl(url) as control:
        fake = JdFake(mock, url, clock, control)
        with fake.http:
            yield fake
