"""The TOP gateway: ``/router/rest`` checks a call in the real order, then dispatches it.

Order (platform-apis.md §5.1): method -> app_key -> timestamp -> signature -> version/format ->
session -> permission -> rate limit -> required params -> the method's own checks -> business.
Errors are ``error_response`` envelopes with HTTP 200.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from mocks.kit.quota import BucketSet, DailyQuota
from mocks.taobao.api import METHODS, Call
from mocks.taobao.config import ShopConfig
from mocks.taobao.errors import TopError, ban, missing
from mocks.taobao.signing import SIGN_METHODS, signature_matches
from mocks.taobao.state import TaobaoMock
from mocks.taobao.wire import GMT8, parse_timestamp

DAILY = "accesscontrol.limited-by-app-access-count"
APP_FREQUENCY = "accesscontrol.limited-by-app-frequency"  # [I]
APP_API_FREQUENCY = "accesscontrol.limited-by-app-api-access-count"


def response_key(method: str) -> str:
    """``taobao.refunds.receive.get`` -> ``refunds_receive_get_response``."""
    name = method.removeprefix("taobao.")
    return name.replace(".", "_") + "_response"


class Quotas:
    """The app's call quotas, rebuilt whenever the configuration changes."""

    def __init__(self, mock: TaobaoMock) -> None:
        cfg = mock.config
        self.daily = DailyQuota(cfg.daily_quota, GMT8) if cfg.daily_quota else None
        self.app = BucketSet(cfg.app_qps) if cfg.app_qps else None
        self.per_method: dict[str, BucketSet] = {}
        self.default_method_qps = cfg.method_qps
        self.overrides = dict(cfg.method_qps_overrides)

    def check(self, app_key: str, method: str, now: datetime) -> None:
        now_s = now.timestamp()
        if self.daily is not None and (wait := self.daily.take(now)):
            raise ban(DAILY, wait)
        if self.app is not None and (wait := self.app.take(app_key, now_s)):
            raise ban(APP_FREQUENCY, wait)
        rate = self.overrides.get(method, self.default_method_qps)
        if rate:
            buckets = self.per_method.get(method)
            if buckets is None:
                buckets = self.per_method[method] = BucketSet(rate)
            if wait := buckets.take(app_key, now_s):
                raise ban(APP_API_FREQUENCY, wait)


class Gateway:
    """Validates and runs one gateway call against a locked ``TaobaoMock``."""

    def __init__(self, mock: TaobaoMock) -> None:
        self.mock = mock
        self.quotas = Quotas(mock)
        self._ids = itertools.count(1)

    def reload_quotas(self) -> None:
        self.quotas = Quotas(self.mock)

    def new_request_id(self) -> str:
        return f"{next(self._ids):x}mk{self.mock.config.seed % 1000:03d}"

    def _check_timestamp(self, raw: str | None) -> None:
        if not raw:
            raise TopError(30)
        try:
            sent = parse_timestamp(raw)
        except (ValueError, OverflowError, OSError) as exc:
            raise TopError(31, "isv.invalid-timestamp", f"时间戳格式错误：{raw}") from exc
        limit = self.mock.config.timestamp_skew_s
        references = [self.mock.now()]
        if (
            self.mock.clock.runs_ahead_of_wall
        ):  # [I] a wall-clock client still works after an advance
            references.append(datetime.now(UTC))
        if all(abs((sent - ref).total_seconds()) > limit for ref in references):
            raise TopError(31, "isv.invalid-timestamp", "时间戳与服务器时间相差超过10分钟")

    def authenticate(self, params: dict[str, str]) -> tuple[str, ShopConfig]:
        """Every check up to and including permission; returns the method and the shop."""
        cfg = self.mock.config
        method = params.get("method")
        if not method:
            raise TopError(21)
        if method not in METHODS:
            raise TopError(22, "isv.invalid-method", f"不存在的方法名 {method}")
        app_key = params.get("app_key")
        if not app_key:
            raise TopError(28)
        if app_key != cfg.app_key:
            raise TopError(29)
        self._check_timestamp(params.get("timestamp"))
        if not params.get("sign"):
            raise TopError(24)
        sign_method = params.get("sign_method") or "md5"
        if sign_method not in SIGN_METHODS:
            raise TopError(25, "isv.invalid-sign-method", f"不支持的签名方法 {sign_method}")
        checked = params if params.get("sign_method") else {**params, "sign_method": "md5"}
        if not signature_matches(checked, cfg.app_secret):
            raise TopError(25)
        version = params.get("v")
        if not version:
            raise TopError(32)
        if version != "2.0":
            raise TopError(34)
        if (params.get("format") or "xml") != "json":
            raise TopError(23, "isv.invalid-format", "this fake serves format=json only [I]")
        if params.get("simplify", "false").lower() not in {"", "false"}:
            raise TopError(
                41, "isv.invalid-parameter:simplify", "this fake serves simplify=false only [I]"
            )
        session = params.get("session")
        if not session:
            raise TopError(26)
        shop = self.mock.shop_for_session(session)
        if shop is None or not shop.session_valid:
            raise TopError(27, "invalid-sessionkey", "SessionKey非法")
        if method in cfg.denied_methods:
            raise TopError(11, "isv.permission-denied", f"应用没有调用 {method} 的权限")
        return method, shop

    def call(
        self, params: dict[str, str], files: dict[str, bytes], request_id: str
    ) -> dict[str, Any]:
        """Run one call (caller holds the mock lock): the response body, or raise TopError."""
        self.mock.run_timers()
        method, shop = self.authenticate(params)
        now = self.mock.now()
        self.quotas.check(self.mock.config.app_key, method, now)
        handler, required, tmall_required = METHODS[method]
        for name in required + (tmall_required if shop.tmall else ()):
            if not params.get(name):
                raise missing(name)
        body = handler(Call(self.mock, shop, params, files, request_id, now))
        body["request_id"] = request_id
        return {response_key(method): body}
