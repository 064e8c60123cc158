"""The seeded fault profile on the warehouse fake, over loopback HTTP: its per-call share (5xx
with and without Retry-After, the ban as 429, hang, reset, a void applied then dropped, outages)
and how connector.warehouse.WarehouseClient maps each onto connector.errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from mock_taobao_support import START

from connector.clock import FakeClock
from connector.errors import (
    OutcomeUnknownError,
    RateLimitedError,
    UnavailableError,
)
from connector.warehouse import WarehouseClient
from mocks.kit.profile import FaultProfile, ProfileRates
from mocks.kit.server import BackgroundServer
from mocks.warehouse import API_KEY_HEADER, DEFAULT_API_KEY, WarehouseMock, create_app


class Warehouse:
    def __init__(self, mock: WarehouseMock, url: str, clock: FakeClock) -> None:
        self.mock, self.url, self.clock = mock, url, clock
        self.http = httpx.Client(base_url=url, timeout=5, headers={API_KEY_HEADER: DEFAULT_API_KEY})

    def control(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        answer = self.http.request(method, "/__mock" + path, json=body)
        assert answer.status_code == status, answer.text
        return answer.json()

    def client(self, http: httpx.Client) -> WarehouseClient:
        return WarehouseClient(self.url, DEFAULT_API_KEY, http)


@pytest.fixture
def wh(clock: FakeClock) -> Iterator[Warehouse]:
    mock = WarehouseMock(clock)
    with BackgroundServer(create_app(test_mode=True, clock=clock, mock=mock)) as url:
        fake = Warehouse(mock, url, clock)
        with fake.http:
            fake.control("POST", "/orders", {"orders": [{"order_id": "O1", "shop_id": "s1"}]})
            yield fake


@pytest.fixture
def client(wh: Warehouse) -> Iterator[WarehouseClient]:
    with httpx.Client(timeout=5) as http:
        yield wh.client(http)


def _install(wh: Warehouse, hang_s: float = 0.3, **rates: float) -> FaultProfile:
    names = ("http_5xx", "ban", "hang", "reset", "write_drop")
    every = {**dict.fromkeys(names, 0.0), **rates}
    profile = FaultProfile(
        name="test",
        seed=5,
        rates=ProfileRates(**every, outages=0),
        started=START,
        outages=[],
        hang_s=hang_s,
    )
    wh.mock.profile = profile
    return profile


def _kind(wh: Warehouse) -> str:
    try:
        response = wh.http.get("/api/orders/O1")
    except httpx.TransportError:
        return "reset"
    if response.status_code == 200:
        return "ok"
    code = response.json()["error"]["code"]
    wait = "+retry_after" if "Retry-After" in response.headers else ""
    return f"{response.status_code}:{code}{wait}"


def test_the_profile_endpoint_switches_on_shows_and_reports(wh: Warehouse) -> None:
    assert wh.control("GET", "/faults/profile") == {"active": False}
    body = {"name": "F10", "seed": 3, "scale": 10, "hang_s": 0.05, "outages": []}
    assert wh.control("POST", "/faults/profile", body)["seed"] == 3
    assert wh.control("GET", "/faults/profile")["active"] is True
    seen = Counter(_kind(wh) for _ in range(80))
    stopped = wh.control("DELETE", "/faults/profile")
    injected = stopped["injected"]
    assert stopped["active"] is False
    assert seen["503:server_error+retry_after"] > 0
    plain = sum(seen[f"{s}:server_error"] for s in (500, 502, 504))
    assert plain > 0
    assert injected["http_status"] == seen["503:server_error+retry_after"] + plain
    assert injected["platform_error"] == seen["429:rate_limited+retry_after"] > 0
    assert injected["hang"] == seen["504:timeout"] > 0
    assert injected["reset"] == seen["reset"] > 0
    assert seen["ok"] > 0
    outcomes = Counter(r["outcome"] for r in wh.control("GET", "/requests")["requests"])
    assert outcomes["fault:reset"] == injected["reset"]
    wh.control("POST", "/faults/profile", {"name": "F99"}, status=400)


def test_reset_switches_the_profile_off(wh: Warehouse) -> None:
    wh.control("POST", "/faults/profile", {"name": "F15"})
    wh.control("POST", "/reset")
    assert wh.control("GET", "/faults/profile") == {"active": False}


def test_a_void_applied_then_dropped_is_outcome_unknown(
    wh: Warehouse, client: WarehouseClient
) -> None:
    profile = _install(wh, write_drop=1.0)
    assert client.get_order_state("O1").state == "not_printed"  # reads are never dropped
    with pytest.raises(OutcomeUnknownError):
        client.void_order("O1", request_id="r-1")
    (entry,) = wh.control("GET", "/ledger")["entries"]
    assert (entry["effect"], entry["key"]) == ("void_order", "r-1")
    assert profile.injected == Counter({"apply_then_drop": 1})


def test_the_ban_is_rate_limited_with_its_wait(wh: Warehouse, client: WarehouseClient) -> None:
    _install(wh, ban=1.0)
    with pytest.raises(RateLimitedError) as caught:
        client.get_order_state("O1")
    assert caught.value.retry_after in {1.0, 2.0, 3.0}


def test_5xx_is_unavailable_with_retry_after_when_sent(
    wh: Warehouse, client: WarehouseClient
) -> None:
    _install(wh, http_5xx=1.0)
    waits: set[float | None] = set()
    for _ in range(12):
        with pytest.raises(UnavailableError) as caught:
            client.get_order_state("O1")
        waits.add(caught.value.retry_after)
    assert None in waits  # the plain 500/502/504 half
    assert waits - {None}  # the 503 half, with Retry-After
    assert waits - {None} <= {1.0, 2.0}


def test_hang_and_reset(wh: Warehouse) -> None:
    with httpx.Client(timeout=0.1) as http:
        client = wh.client(http)
        _install(wh, hang=1.0, hang_s=0.4)
        with pytest.raises(UnavailableError):
            client.get_order_state("O1")
        with pytest.raises(OutcomeUnknownError):
            client.void_order("O1")
    assert wh.control("GET", "/ledger")["entries"] == []  # a hang never applies
    with httpx.Client(timeout=5) as http:
        client = wh.client(http)
        _install(wh, reset=1.0)
        with pytest.raises(UnavailableError):
            client.get_order_state("O1")
        with pytest.raises(OutcomeUnknownError):
            client.void_order("O1")


def test_outages_503_then_reset(wh: Warehouse, client: WarehouseClient) -> None:
    outages = [
        {"start_s": 0, "duration_s": 30, "mode": "503"},
        {"start_s": 60, "duration_s": 30, "mode": "reset"},
    ]
    wh.control("POST", "/faults/profile", {"name": "F10", "scale": 1e-9, "outages": outages})
    with pytest.raises(UnavailableError) as caught:
        client.get_order_state("O1")
    assert (caught.value.retry_after, caught.value.platform_code) == (None, "server_error")
    wh.clock.advance(timedelta(seconds=30))
    assert client.get_order_state("O1").state == "not_printed"
    wh.clock.advance(timedelta(seconds=30))
    with pytest.raises(OutcomeUnknownError):
        client.void_order("O1")
    wh.clock.advance(timedelta(seconds=30))
    assert client.get_order_state("O1").state == "not_printed"  # the dropped void was not sent
    injected = wh.control("DELETE", "/faults/profile")["injected"]
    assert (injected["outage_503"], injected["outage_reset"]) == (1, 1)
