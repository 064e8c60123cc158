"""The Taobao adapter against the Taobao fake over real loopback HTTP: the conformance suite.

Run once for a Taobao shop and once for a Tmall shop (writes carry phase and version there).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from adapters.taobao import TaobaoAdapter, TaobaoSettings
from connector.effects import EffectKind
from connector.testing import AdapterConformanceSuite, FakeEndpoint
from mocks.kit.server import BackgroundServer
from mocks.taobao import ShopConfig, TaobaoConfig, TaobaoMock, create_app

APP_KEY = "23456789"
APP_SECRET = "conformance-secret-9d1f"
SESSION = "conformance-session-77ab"


def _settings(base_url: str, shop_id: str, *, tmall: bool, **overrides: str) -> TaobaoSettings:
    values = {
        "base_url": base_url,
        "shop_id": shop_id,
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "session": f"{SESSION}-{shop_id}",
        "tmall": tmall,
        "page_size": 5,
        "return_address_id": "1",
        **overrides,
    }
    return TaobaoSettings(**values)


def _serve(tmall: bool) -> Iterator[FakeEndpoint]:
    shop_id = "tmall-conformance" if tmall else "taobao-conformance"
    config = TaobaoConfig(
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        session=SESSION,
        shops=[ShopConfig(shop_id, f"{SESSION}-{shop_id}", tmall=tmall)],
    )
    with BackgroundServer(create_app(TaobaoMock(config), test_mode=True)) as base_url:
        yield FakeEndpoint(
            base_url=base_url,
            shop_id=shop_id,
            settings=lambda shop: _settings(base_url, shop, tmall=tmall),
            bad_settings=lambda shop: [
                _settings(base_url, shop, tmall=tmall, app_secret="not-the-secret"),
                _settings(base_url, shop, tmall=tmall, session="revoked-session-0000"),
            ],
        )


class TestTaobaoConformance(AdapterConformanceSuite):
    adapter_cls = TaobaoAdapter
    rate_limit_fault: ClassVar[dict[str, object]] = {
        "kind": "platform_error",
        "code": "7",
        "sub_code": "accesscontrol.limited-by-app-api-access-count",
        "ban_s": 3,
    }
    rate_limit_retry_after = 3.0
    malformed_item_field = "refund_fee"
    write_methods: ClassVar[dict[EffectKind, str]] = {
        EffectKind.agree_refund: "taobao.rp.refunds.agree",
        EffectKind.confirm_return_and_refund: "taobao.rp.refunds.agree",
        EffectKind.agree_return: "taobao.rp.returngoods.agree",
        EffectKind.refuse_refund: "taobao.refund.refuse",
        EffectKind.message_buyer: "taobao.refund.message.add",
        EffectKind.write_order_memo: "taobao.trade.memo.add",
    }

    @pytest.fixture
    def endpoint(self) -> Iterator[FakeEndpoint]:
        yield from _serve(tmall=False)


class TestTmallConformance(TestTaobaoConformance):
    @pytest.fixture
    def endpoint(self) -> Iterator[FakeEndpoint]:
        yield from _serve(tmall=True)
