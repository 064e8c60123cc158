"""Builders for the Taobao respx tests: settings, wire records, envelopes, effects."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx

from adapters.taobao import TaobaoSettings
from connector.effects import EffectKind, EffectRequest

BASE_URL = "http://top.test"
GATEWAY = f"{BASE_URL}/router/rest"
APP_SECRET = "app-secret-7f3a9c"
SESSION = "session-token-5b2e81"


def settings(**overrides: Any) -> TaobaoSettings:
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "shop_id": "s1",
        "app_key": "12345678",
        "app_secret": APP_SECRET,
        "session": SESSION,
        "return_address_id": "addr-1",
        "return_contact_name": "Shop Returns",
        "return_address": "1 Warehouse Rd",
        "return_post_code": "310000",
        "return_mobile": "13800000000",
    }
    values.update(overrides)
    return TaobaoSettings(**values)


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))


def ok(method: str, payload: dict[str, Any]) -> httpx.Response:
    key = method.removeprefix("taobao.").replace(".", "_") + "_response"
    return httpx.Response(200, json={key: {**payload, "request_id": "r1"}})


def error(code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> httpx.Response:
    body: dict[str, Any] = {"code": code, "msg": msg, "request_id": "r1"}
    if sub_code:
        body["sub_code"] = sub_code
    if sub_msg:
        body["sub_msg"] = sub_msg
    return httpx.Response(200, json={"error_response": body})


def refund(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "refund_id": "900001",
        "tid": 700001,
        "oid": 700001,
        "title": "cotton shirt",
        "total_fee": "12345.60",
        "payment": "0.00",
        "refund_fee": "0.01",
        "status": "WAIT_SELLER_AGREE",
        "created": "2026-11-12 09:00:00",
        "modified": "2026-11-12 09:30:00",
        "reason": "质量问题",
        "desc": "",
        "has_good_return": False,
        "good_status": "BUYER_RECEIVED",
        "order_status": "WAIT_BUYER_CONFIRM_GOODS",
        "refund_phase": "onsale",
        "refund_version": 1762911000000,
        "dispute_type": "REFUND",
        "num": 1,
        "sku": "30004447689|颜色分类:军绿色",
        "outer_id": "SKU-1",
        "operation_contraint": "cannot_refuse",
        "buyer_open_uid": "AAH-open-uid-1",
        "buyer_nick": "张三",
    }
    wire.update(overrides)
    return wire


def effect(kind: EffectKind, **overrides: Any) -> EffectRequest:
    values: dict[str, Any] = {
        "key": "k1",
        "kind": kind,
        "platform": "taobao",
        "shop_id": "s1",
        "case_id": "900001",
        "order_id": "700001",
        "version": "1762911000000",
        "platform_fields": {"refund_phase": "onsale"},
        "params": {},
    }
    values.update(overrides)
    return EffectRequest(**values)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
