"""An in-process world for daemon tests: Taobao and warehouse fakes on real loopback HTTP, a
SQLite store in a temp dir, and the daemon, all on one FakeClock that tests advance."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from connector.clock import FakeClock
from connector.daemon.core import Daemon
from connector.daemon.runtime import build_daemon
from connector.settings import ConnectorSettings
from connector.store import Store, open_store
from connector.testing.mock_control import MockControl
from mocks.kit.server import BackgroundServer
from mocks.taobao import TaobaoConfig, TaobaoMock, create_app
from mocks.warehouse import create_app as create_warehouse_app

START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
WAREHOUSE_KEY = "warehouse-test-key"


@dataclass
class World:
    clock: FakeClock
    taobao: TaobaoMock
    taobao_url: str
    warehouse_url: str
    control: MockControl
    warehouse: httpx.Client
    store: Store
    daemon: Daemon
    state_dir: Path
    slept: list[float] = field(default_factory=list)

    def seed(self, **spec: Any) -> str:
        spec.setdefault("shop_id", "taobao-shop")
        return self.control.seed([spec])[0]

    def seed_approvable(self, paid: int = 29900) -> str:
        """A changed-mind refund-only case not yet shipped (its warehouse order not printed),
        due in 20 hours: one the default policy approves."""
        case_id = self.seed(
            type="refund_only",
            reason="changed_mind",
            order_status="not_shipped",
            paid_amount=paid,
            deadline_s=20 * 3600,
        )
        self.warehouse_order(self.order_of(case_id), "not_printed")
        return case_id

    def order_of(self, case_id: str) -> str:
        return str(self.control.case(case_id)["order_id"])

    def warehouse_order(self, order_id: str, state: str = "not_printed") -> None:
        body = {"orders": [{"order_id": order_id, "shop_id": "taobao-shop", "state": state}]}
        self.warehouse.post("/__mock/orders", json=body).raise_for_status()

    def warehouse_return(self, order_id: str, *, resellable: bool, note: str = "") -> None:
        if self.warehouse.get(f"/api/orders/{order_id}", headers=self._auth).status_code == 404:
            self.warehouse_order(order_id, "shipped")
        body = {"resellable": resellable, "note": note}
        self.warehouse.post(f"/__mock/returns/{order_id}", json=body).raise_for_status()

    def effects_at_platform(self, case_id: str) -> list[str]:
        entries, _ = self.control.ledger()
        return [
            str(e["effect"])
            for e in entries
            if e.get("case_id") == case_id and e.get("actor") == "seller"
        ]

    def warehouse_ledger(self) -> list[dict[str, Any]]:
        return list(self.warehouse.get("/__mock/ledger").json()["entries"])

    @property
    def _auth(self) -> dict[str, str]:
        from mocks.warehouse import API_KEY_HEADER

        return {API_KEY_HEADER: WAREHOUSE_KEY}

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    def until_deadline(self, case_id: str) -> timedelta:
        deadline = datetime.fromisoformat(str(self.control.case(case_id)["deadline_at"]))
        return deadline - self.clock.now()


def config_for(
    taobao_url: str,
    warehouse_url: str,
    cfg: TaobaoConfig,
    shop_extra: dict[str, Any] | None = None,
) -> ConnectorSettings:
    shops = [
        {
            "shop_id": shop.shop_id,
            "platform": "taobao",
            "quota": {"calls_per_second": 1000},
            "settings": {
                "base_url": taobao_url,
                "app_key": cfg.app_key,
                "app_secret": cfg.app_secret,
                "session": shop.session,
                "tmall": shop.tmall,
                "page_size": 20,
                "return_address_id": "addr-1",
            },
        }
        | (shop_extra or {})
        for shop in cfg.shops
    ]
    return ConnectorSettings(
        daemon={"retry_attempts": 2, "relay_concurrency": 4, "http_timeout_s": 5},
        warehouse={"base_url": warehouse_url, "api_key": WAREHOUSE_KEY},
        shops=shops,
    )


def make_world(tmp_path: Path, shop_extra: dict[str, Any] | None = None) -> Iterator[World]:
    clock = FakeClock(START)
    cfg = TaobaoConfig()
    taobao = TaobaoMock(cfg, clock=clock)
    with ExitStack() as stack:
        taobao_url = stack.enter_context(BackgroundServer(create_app(taobao, test_mode=True)))
        warehouse_app = create_warehouse_app(api_key=WAREHOUSE_KEY, test_mode=True, clock=clock)
        warehouse_url = stack.enter_context(BackgroundServer(warehouse_app))
        control = stack.enter_context(MockControl(taobao_url))
        warehouse = stack.enter_context(httpx.Client(base_url=warehouse_url, timeout=10))
        store = open_store(tmp_path / "state", clock=clock)
        stack.callback(store.close)
        slept: list[float] = []
        daemon = build_daemon(
            config_for(taobao_url, warehouse_url, cfg, shop_extra),
            store=store,
            clock=clock,
            sleep=slept.append,
        )
        stack.callback(daemon.close)
        yield World(
            clock=clock,
            taobao=taobao,
            taobao_url=taobao_url,
            warehouse_url=warehouse_url,
            control=control,
            warehouse=warehouse,
            store=store,
            daemon=daemon,
            state_dir=tmp_path / "state",
            slept=slept,
        )
