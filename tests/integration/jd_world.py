"""A mixed world for daemon tests: a JD shop and the Taobao shops side by side in one daemon.

The JD fake, the Taobao fake and the warehouse fake serve real loopback HTTP; the store lives in a
temp dir; every one of them and the daemon read one FakeClock that tests advance.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from daemon_world import START, WAREHOUSE_KEY, config_for

from connector.clock import FakeClock
from connector.daemon.core import Daemon
from connector.daemon.runtime import build_daemon
from connector.settings import ConnectorSettings, ShopSettings
from connector.store import CaseKey, CaseRecord, Store, open_store
from connector.testing.mock_control import MockControl
from mocks.jd import JdConfig, JdMock, JdShop
from mocks.jd import create_app as create_jd_app
from mocks.kit.server import BackgroundServer
from mocks.taobao import TaobaoConfig, TaobaoMock
from mocks.taobao import create_app as create_taobao_app
from mocks.warehouse import create_app as create_warehouse_app

JD_SHOP = "jd-shop"
JD_TOKEN = "jd-world-token"
JD_BU_ID = "10001"
REFUND_AUDIT_SLA_H = 48.0
"""The rule the adapter derives refund-application deadlines from; the fake's timer matches."""


@dataclass
class MixedWorld:
    clock: FakeClock
    jd: MockControl
    taobao: MockControl
    warehouse: httpx.Client
    store: Store
    daemon: Daemon
    taobao_mock: TaobaoMock
    jd_mock: JdMock

    def seed_jd(self, **spec: Any) -> list[str]:
        """Every id the spec made (service orders: one per returned unit)."""
        spec.setdefault("shop_id", JD_SHOP)
        return self.jd.seed([spec])

    def seed_taobao(self, **spec: Any) -> str:
        spec.setdefault("shop_id", "taobao-shop")
        return self.taobao.seed([spec])[0]

    def jd_key(self, case_id: str) -> CaseKey:
        return ("jd", JD_SHOP, case_id)

    def record(self, key: CaseKey) -> CaseRecord:
        record = self.store.get_case(key)
        assert record is not None, f"the daemon never stored {key}"
        return record

    def warehouse_order(self, order_id: str, shop_id: str, state: str) -> None:
        body = {"orders": [{"order_id": order_id, "shop_id": shop_id, "state": state}]}
        self.warehouse.post("/__mock/orders", json=body).raise_for_status()

    def warehouse_ledger(self) -> list[dict[str, Any]]:
        return list(self.warehouse.get("/__mock/ledger").json()["entries"])

    @staticmethod
    def seller_writes(control: MockControl, case_id: str) -> list[str]:
        entries, _ = control.ledger()
        return [
            str(e["effect"])
            for e in entries
            if e.get("case_id") == case_id and e.get("actor") == "seller"
        ]

    @staticmethod
    def auto_acts(control: MockControl) -> list[dict[str, Any]]:
        entries, _ = control.ledger()
        return [e for e in entries if e.get("actor") == "platform_auto"]

    def until_deadline(self, control: MockControl, case_id: str) -> timedelta:
        deadline = datetime.fromisoformat(str(control.case(case_id)["deadline_at"]))
        return deadline - self.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)


def jd_config() -> JdConfig:
    return JdConfig(
        shops=[JdShop(JD_SHOP, JD_TOKEN, JD_BU_ID)],
        timers={"refund_audit": REFUND_AUDIT_SLA_H * 3600},
    )


def jd_shop_settings(jd_url: str, cfg: JdConfig) -> dict[str, Any]:
    """The daemon's JD shop: credentials, the operator, the return address, the audit rule."""
    return {
        "shop_id": JD_SHOP,
        "platform": "jd",
        "quota": {"calls_per_second": 1000},
        "settings": {
            "base_url": jd_url,
            "app_key": cfg.app_key,
            "app_secret": cfg.app_secret,
            "access_token": JD_TOKEN,
            "bu_id": JD_BU_ID,
            "operate_pin": "shop_ops",
            "operate_nick": "售后机器人",
            "page_size": 20,
            "refund_audit_sla_hours": REFUND_AUDIT_SLA_H,
            "return_contact_name": "Shop Returns",
            "return_contact_tel": "010-12345678",
            "return_province": 1,
            "return_city": 72,
            "return_county": 2819,
            "return_address_detail": "1 Warehouse Rd",
        },
    }


def mixed_config(
    taobao_url: str, jd_url: str, warehouse_url: str, taobao: TaobaoConfig, jd: JdConfig
) -> ConnectorSettings:
    base = config_for(taobao_url, warehouse_url, taobao)
    jd_shop = ShopSettings.model_validate(jd_shop_settings(jd_url, jd))
    return base.model_copy(update={"shops": [*base.shops, jd_shop]})


def make_mixed_world(tmp_path: Path) -> Iterator[MixedWorld]:
    clock = FakeClock(START)
    taobao_cfg, jd_cfg = TaobaoConfig(), jd_config()
    taobao_mock = TaobaoMock(taobao_cfg, clock=clock)
    jd_mock = JdMock(jd_cfg, clock=clock)
    with ExitStack() as stack:
        serve = stack.enter_context
        taobao_url = serve(BackgroundServer(create_taobao_app(taobao_mock, test_mode=True)))
        jd_url = serve(BackgroundServer(create_jd_app(jd_mock, test_mode=True)))
        warehouse_app = create_warehouse_app(api_key=WAREHOUSE_KEY, test_mode=True, clock=clock)
        warehouse_url = serve(BackgroundServer(warehouse_app))
        store = open_store(tmp_path / "state", clock=clock)
        stack.callback(store.close)
        config = mixed_config(taobao_url, jd_url, warehouse_url, taobao_cfg, jd_cfg)
        daemon = build_daemon(config, store=store, clock=clock, sleep=lambda _s: None)
        stack.callback(daemon.close)
        yield MixedWorld(
            clock=clock,
            jd=serve(MockControl(jd_url)),
            taobao=serve(MockControl(taobao_url)),
            warehouse=serve(httpx.Client(base_url=warehouse_url, timeout=10)),
            store=store,
            daemon=daemon,
            taobao_mock=taobao_mock,
            jd_mock=jd_mock,
        )
