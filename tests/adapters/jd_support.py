"""Builders for the JD respx tests: settings, JOS envelopes, wire records, effects."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx

from adapters.jd import JdSettings
from connector.effects import EffectKind, EffectRequest

BASE_URL = "http://jos.test"
GATEWAY = f"{BASE_URL}/routerjson"
APP_SECRET = "jd-secret-4c1e77"
ACCESS_TOKEN = "jd-token-93ab20"


def jd_settings(**overrides: Any) -> JdSettings:
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "shop_id": "jd1",
        "app_key": "APPKEY",
        "app_secret": APP_SECRET,
        "access_token": ACCESS_TOKEN,
        "bu_id": "10001",
        "operate_pin": "shop_ops",
        "operate_nick": "售后机器人",
        "refuse_question_type_cid1": 9,
        "return_contact_name": "Shop Returns",
        "return_contact_tel": "010-12345678",
        "return_province": 1,
        "return_city": 72,
        "return_county": 2819,
        "return_address_detail": "1 Warehouse Rd",
    }
    values.update(overrides)
    return JdSettings(**values)


def sent(request: httpx.Request) -> dict[str, str]:
    """Every parameter the request carried (query and form body)."""
    params = dict(request.url.params.multi_items())
    params.update(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))
    return params


def business(request: httpx.Request) -> dict[str, Any]:
    """The decoded ``360buy_param_json`` of a request."""
    decoded: dict[str, Any] = json.loads(sent(request)["360buy_param_json"])
    return decoded


def answer(method: str, result_key: str, result: dict[str, Any]) -> httpx.Response:
    """A JOS success body: ``{"<method>_responce": {"code": "0", result_key: result}}``."""
    return answer_text(method, result_key, _dumps(result))


def _dumps(value: Any) -> str:
    """JSON with each ``Decimal`` written as the plain number JD sends (``12345.6``)."""
    text = json.dumps(value, ensure_ascii=False, default=lambda d: f"@@{d}@@")
    return text.replace('"@@', "").replace('@@"', "")


def answer_text(method: str, result_key: str, result_json: str) -> httpx.Response:
    """Like ``answer`` with the business object as raw JSON text (exact numbers)."""
    key = method.replace(".", "_") + "_responce"
    text = f'{{"{key}": {{"code": "0", "{result_key}": {result_json}}}}}'
    return httpx.Response(200, content=text.encode(), headers={"content-type": "application/json"})


def gateway_error(code: str, zh: str = "错误", en: str = "Error") -> httpx.Response:
    body = {"error_response": {"code": code, "zh_desc": zh, "en_desc": en}}
    return httpx.Response(200, json=body)


def refund_vo(**overrides: Any) -> dict[str, Any]:
    vo: dict[str, Any] = {
        "id": 30001,
        "orderId": "290000000001",
        "status": 0,
        "applyRefundSum": 4900,
        "applyTime": "2026-11-12 09:00:00",
        "checkTime": None,
        "buyerId": "jd_buyer_pin",
        "buyerName": "张三",
        "reason": "不想要了",
        "open_id_buyer": "oBUYER1",
        "skuId": "SKU-1",
        "wareName": "cotton shirt",
    }
    vo.update(overrides)
    return vo


def service_brief(**overrides: Any) -> dict[str, Any]:
    brief: dict[str, Any] = {
        "serviceId": 80001,
        "applyId": 70001,
        "orderId": 290000000002,
        "customerExpect": 10,
        "serviceStatus": 10,
        "serviceStatusName": "待审核",
        "applyTime": 1794445200000,  # 2026-11-12 09:00:00 +08:00
        "updateTime": 1794447000000,  # 2026-11-12 09:30:00 +08:00
        "sysVersion": 3,
        "customerPin": "jd_buyer_pin",
        "customerName": "张三",
        "customerTel": "13800000000",
        "pickwareAddress": "北京市某区某路1号",
        "oaid": "oBUYER2",
        "skuId": 100000001,
        "wareName": "kettle",
        "serviceCount": 1,
        "actualPayPrice": Decimal("12345.6"),
        "refundAmount": Decimal("0.01"),
        "questionTypeCid1": 2,
        "questionTypeCid1Name": "商品问题",
        "questionTypeCid2": 201,
        "questionTypeCid2Name": "商品质量问题",
        "questionDesc": "",
    }
    brief.update(overrides)
    return brief


def effect(
    kind: EffectKind,
    *,
    case_id: str = "30001",
    order_id: str = "290000000001",
    version: str = "0",
    family: str = "refund_application",
    params: dict[str, Any] | None = None,
) -> EffectRequest:
    """An effect on the default refund application (or any case of either family)."""
    return EffectRequest(
        key=f"key-{case_id}-{kind}",
        kind=kind,
        platform="jd",
        shop_id="jd1",
        case_id=case_id,
        order_id=order_id,
        version=version,
        platform_fields={"family": family},
        params=params or {},
    )
