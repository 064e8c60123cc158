"""The JOS gateway ``/routerjson``: checks a call in order, then runs its method.

Order (each failure an ``error_response`` with HTTP 200): method 14/15 -> app_key 6/9 [I] ->
timestamp 7/8 (±6 min) -> sign 11/12 -> v 4/5 -> format 21 [I] -> access_token 18 [I]/19 ->
quotas 2 -> ``360buy_param_json`` must be a JSON object 66 [I] -> the method (business failures
inside the business object).
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any

from mocks.jd import asc, refundapply
from mocks.jd.args import Args, BusinessError, Call, Method
from mocks.jd.codes import GATEWAY_CODES
from mocks.jd.config import JdShop
from mocks.jd.signing import BEIJING, parse_jos_timestamp, signature_ok
from mocks.jd.state import JdMock
from mocks.kit.quota import BucketSet, DailyQuota

METHODS: dict[str, Method] = {**refundapply.METHODS, **asc.METHODS}


class GatewayError(Exception):
    """One ``error_response``; ``ban_s`` adds how long a quota ban lasts to both texts."""

    def __init__(
        self, code: str, zh: str | None = None, en: str | None = None, ban_s: int | None = None
    ) -> None:
        known = GATEWAY_CODES.get(code)
        self.code = code
        self.zh = zh or (known.zh if known else "服务异常")
        self.en = en or (known.en if known else "Service Error")
        if ban_s is not None:
            self.zh = f"{self.zh}，{ban_s}秒后解除"
            self.en = f"{self.en}, retry after {ban_s} seconds"
        super().__init__(f"{code} {self.en}")

    def body(self) -> dict[str, Any]:
        return {"error_response": {"code": self.code, "zh_desc": self.zh, "en_desc": self.en}}


def responce_key(method: str) -> str:
    """``jingdong.asc.query.list`` -> ``jingdong_asc_query_list_responce`` (JD's spelling)."""
    return method.replace(".", "_") + "_responce"


class Quotas:
    """Daily calls per app (GMT+8 day) and calls/s per app and per (app, method): code 2."""

    def __init__(self, mock: JdMock) -> None:
        cfg = mock.config
        self.daily = DailyQuota(cfg.daily_quota, BEIJING) if cfg.daily_quota else None
        self.app = BucketSet(cfg.app_qps) if cfg.app_qps else None
        self.method = BucketSet(cfg.method_qps) if cfg.method_qps else None

    def take(self, app_key: str, method: str, now: datetime) -> None:
        if self.daily is not None and (wait := self.daily.take(now)):
            raise GatewayError("2", ban_s=wait)
        now_s = now.timestamp()
        if self.app is not None and (wait := self.app.take(app_key, now_s)):
            raise GatewayError("2", ban_s=wait)
        if self.method is not None and (wait := self.method.take(f"{app_key}:{method}", now_s)):
            raise GatewayError("2", ban_s=wait)


class Gateway:
    """Validates and runs one call against a locked ``JdMock``; ``quotas`` is swapped on change."""

    def __init__(self, mock: JdMock) -> None:
        self.mock, self.quotas = mock, Quotas(mock)
        self._serial = itertools.count(1)

    def new_request_id(self) -> str:
        return f"jd-{self.mock.config.seed % 1000:03d}-{next(self._serial):07d}"

    def _timestamp_ok(self, raw: str) -> bool:
        try:
            sent = parse_jos_timestamp(raw)
        except ValueError:
            return False
        return self.mock.clock.client_time_ok(sent, self.mock.config.timestamp_skew_s)

    def authenticate(self, params: dict[str, str]) -> tuple[str, JdShop]:
        cfg = self.mock.config
        method = params.get("method")
        if not method:
            raise GatewayError("14")
        if method not in METHODS:
            raise GatewayError("15")
        app_key = params.get("app_key")
        if not app_key:
            raise GatewayError("6")
        if app_key != cfg.app_key:
            raise GatewayError("9")
        timestamp = params.get("timestamp")
        if not timestamp:
            raise GatewayError("7")
        if not self._timestamp_ok(timestamp):
            raise GatewayError("8")
        if not params.get("sign"):
            raise GatewayError("11")
        if not signature_ok(params, cfg.app_secret):
            raise GatewayError("12")
        version = params.get("v")
        if not version:
            raise GatewayError("4")
        if version != "2.0":
            raise GatewayError("5")
        if params.get("format", "json") not in {"", "json"}:
            raise GatewayError("21")
        token = params.get("access_token")
        if not token:
            raise GatewayError("18")
        shop = self.mock.shop_for_token(token)
        if shop is None or not shop.token_valid:
            raise GatewayError("19")
        return method, shop

    @staticmethod
    def business_params(params: dict[str, str]) -> dict[str, Any]:
        raw = params.get("360buy_param_json") or "{}"
        try:
            values = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise GatewayError("66", en=f"Invalid 360buy_param_json: {exc.msg}") from exc
        if not isinstance(values, dict):
            raise GatewayError("66", en="Invalid 360buy_param_json: not a JSON object")
        return values

    def call(self, params: dict[str, str], request_id: str) -> dict[str, Any]:
        """Run one call (caller holds the mock lock): the response body, or raise GatewayError."""
        self.mock.run_timers()
        method, shop = self.authenticate(params)
        now = self.mock.now()
        self.quotas.take(self.mock.config.app_key, method, now)
        values = self.business_params(params)
        spec = METHODS[method]
        call = Call(self.mock, shop, Args(values, spec.bad_param_code), request_id, now)
        try:
            inner = spec.handler(call)
        except BusinessError as failure:
            inner = spec.failure(failure)
        return {responce_key(method): {"code": "0", spec.result_key: inner}}
