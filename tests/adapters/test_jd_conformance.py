"""The JD adapter against the JD fake over real loopback HTTP: the conformance suite.

The standard dataset spans both JD families: refund-only cases before shipment become refund
applications, everything else service orders (one per returned unit).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from jd_support import jd_settings

from adapters.jd import JdAdapter, JdSettings
from connector.effects import EffectKind
from connector.testing import AdapterConformanceSuite, FakeEndpoint
from connector.testing.mock_control import MockControl
from mocks.jd import JdConfig, JdMock, JdShop, create_app
from mocks.kit.server import BackgroundServer

APP_KEY = "jd-conformance-app"
APP_SECRET = "jd-conformance-secret-51c0"
TOKEN = "jd-conformance-token-a93e"
SHOP = "jd-conformance"
BU_ID = "20001"


def conformance_settings(base_url: str, shop_id: str, **overrides: Any) -> JdSettings:
    values: dict[str, Any] = {
        "base_url": base_url,
        "shop_id": shop_id,
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "access_token": f"{TOKEN}-{shop_id}",
        "bu_id": BU_ID,
        "page_size": 5,
    }
    return jd_settings(**{**values, **overrides})


def serve_jd() -> Iterator[FakeEndpoint]:
    config = JdConfig(
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        access_token=TOKEN,
        shops=[JdShop(SHOP, f"{TOKEN}-{SHOP}", BU_ID)],
    )
    with BackgroundServer(create_app(JdMock(config), test_mode=True)) as base_url:
        yield FakeEndpoint(
            base_url=base_url,
            shop_id=SHOP,
            settings=lambda shop: conformance_settings(base_url, shop),
            bad_settings=lambda shop: [
                conformance_settings(base_url, shop, app_secret="not-the-secret"),
                conformance_settings(base_url, shop, access_token="revoked-token-0000"),
            ],
        )


class TestJdConformance(AdapterConformanceSuite):
    adapter_cls = JdAdapter
    rate_limit_fault: ClassVar[dict[str, object]] = {
        "kind": "platform_error",
        "code": "2",
        "ban_s": 3,
    }
    rate_limit_retry_after = 3.0
    malformed_item_field = "applyTime"
    write_methods: ClassVar[dict[EffectKind, str]] = {
        EffectKind.agree_refund: "jingdong.pop.afs.soa.refundapply.replyRefund",
        EffectKind.confirm_return_and_refund: "jingdong.asc.process.close",
        EffectKind.agree_return: "jingdong.asc.audit.send",
        EffectKind.refuse_refund: "jingdong.asc.audit.refuse",
    }

    @pytest.fixture
    def endpoint(self) -> Iterator[FakeEndpoint]:
        yield from serve_jd()

    def touch(self, control: MockControl, case_id: str) -> None:
        """A JD refund application can only be cancelled by the buyer; service orders take
        evidence."""
        if control.case(case_id).get("family") == "refund_apply":
            control.buyer(case_id, {"action": "cancel"})
        else:
            super().touch(control, case_id)
