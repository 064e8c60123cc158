"""The Starlette app of the Taobao fake: ``/router/rest`` plus, in test mode, ``/__mock`` routes.

Faults from the plan are applied here, around the gateway call, so the state code stays pure.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from mocks.kit.control import control_routes, guarded, json_body
from mocks.kit.faults import BROKEN, POISON_MARK, Fault, poisoned_body
from mocks.taobao.config import DEFAULT_TIMERS, ShopConfig
from mocks.taobao.errors import PLATFORM_MESSAGES, TopError
from mocks.taobao.gateway import Gateway, response_key
from mocks.taobao.state import TaobaoMock

JSON_TYPE = "application/json;charset=UTF-8"
LIST_METHOD = "taobao.refunds.receive.get"
WRITE_METHODS = frozenset(
    {
        "taobao.rp.refunds.agree",
        "taobao.rp.returngoods.agree",
        "taobao.refund.refuse",
        "taobao.refund.message.add",
        "taobao.trade.memo.add",
        "taobao.trade.memo.update",
    }
)


class DropConnection(Response):
    """Close the TCP connection without an answer (the ``reset`` and ``apply_then_drop`` faults)."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = getattr(getattr(receive, "__self__", None), "transport", None)
        if transport is not None:
            transport.abort()
            return
        # Fallback: promise a body and stop short, which makes the server cut the connection.
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"1000")],
            }
        )
        await send({"type": "http.response.body", "body": b"{", "more_body": False})


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type=JSON_TYPE)


async def read_params(request: Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """Query string, urlencoded form and multipart text fields merged; file parts kept apart."""
    params = dict(request.query_params)
    files: dict[str, bytes] = {}
    if request.method == "POST":
        form = await request.form(max_part_size=2 * 1024 * 1024)
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = await value.read()
            else:
                params[key] = value
    return params, files


def _poison_item(body: dict[str, Any], fault: Fault) -> bytes | None:
    """The answer with the named case's listed item poisoned, or None if it is not listed."""
    inner = body.get(response_key(LIST_METHOD))
    refunds = inner.get("refunds") if isinstance(inner, dict) else None
    items = refunds.get("refund") if isinstance(refunds, dict) else None
    wanted = fault.text("case")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and str(item.get("refund_id")) == wanted:
            item[fault.text("field", "reason") or "reason"] = POISON_MARK
            return poisoned_body(json.dumps(body, ensure_ascii=False), fault)
    return None


def _break_item(body: dict[str, Any], field: str) -> None:
    """Damage one field of the first list item (or the single object) in a success body."""
    inner = next(iter(body.values()))
    if not isinstance(inner, dict):
        return
    for key, value in inner.items():
        if isinstance(value, dict):
            items = next((v for v in value.values() if isinstance(v, list)), None)
            if items:
                items[0][field] = BROKEN
                return
            if key in {"refund", "trade", "item", "refund_message"}:
                value[field] = BROKEN
                return


def _fault_error(fault: Fault, request_id: str) -> dict[str, Any]:
    code = int(fault.params.get("code", 15))
    sub_msg = fault.text("sub_msg") or None
    if fault.params.get("ban_s") is not None and sub_msg is None:
        sub_msg = f"This ban will last for {int(fault.number('ban_s', 1))} more seconds"
    error = TopError(
        code,
        fault.text("sub_code") or None,
        sub_msg,
        fault.text("msg") or PLATFORM_MESSAGES.get(code),
    )
    return error.body(request_id)


def create_app(mock: TaobaoMock, *, test_mode: bool = True) -> Starlette:
    """The ASGI app. Control routes under ``/__mock`` exist only when ``test_mode`` is on."""
    gateway = Gateway(mock)

    def _case_of(params: dict[str, str]) -> str:
        """The refund a call is about: ``refund_id``, the first ``refund_infos`` or the trade's."""
        refund_id = params.get("refund_id") or params.get("refund_infos", "").split("|")[0]
        if not refund_id and params.get("tid", "").isdigit():
            with mock.lock:
                refund_id = mock.refund_of_trade.get(int(params["tid"]), "")
        return refund_id

    def _change_before(params: dict[str, str]) -> None:
        refund_id = _case_of(params)
        with mock.lock:
            mock.buyer_touch(refund_id)

    async def router_rest(request: Request) -> Response:
        started = time.perf_counter()
        request_id = gateway.new_request_id()
        try:
            params, files = await read_params(request)
        except Exception as exc:  # noqa: BLE001 - any unparseable body is the caller's error 41
            body = TopError(41, "isv.invalid-parameter:body", f"请求体无法解析：{exc}").body(
                request_id
            )
            mock.record_request(
                method=None,
                shop_id=None,
                outcome="error:41",
                ms=(time.perf_counter() - started) * 1000,
                request_id=request_id,
            )
            return _json(body)
        method = params.get("method")
        with mock.lock:
            shop = mock.shop_for_session(params.get("session"))
        shop_id = shop.shop_id if shop else None
        fault = mock.next_fault(
            method, shop_id, write=method in WRITE_METHODS, case_of=lambda: _case_of(params)
        )

        def log(outcome: str) -> None:
            mock.record_request(
                method=method,
                shop_id=shop_id,
                outcome=outcome,
                ms=(time.perf_counter() - started) * 1000,
                request_id=request_id,
            )

        if fault is not None:
            if fault.kind == "hang":  # logged as it arrives, not after the client gave up
                log("fault:hang")
            early = await _early_fault(fault, params, request_id, method)
            if early is not None:
                if fault.kind != "hang":
                    log(f"fault:{fault.kind}")
                return early
        try:
            with mock.lock:
                body = gateway.call(params, files, request_id)
        except TopError as err:
            log(f"error:{err.code}")
            return _json(err.body(request_id))
        if fault is not None and fault.kind == "apply_then_drop":
            log("fault:apply_then_drop")
            return DropConnection()
        if fault is not None and fault.kind == "poison_item":
            poisoned = _poison_item(body, fault)
            log("fault:poison_item" if poisoned is not None else "ok")
            return _json(body) if poisoned is None else Response(poisoned, media_type=JSON_TYPE)
        if fault is not None and fault.kind == "malformed_item":
            _break_item(body, fault.text("field", "refund_fee") or "refund_fee")
            log("fault:malformed_item")
            return _json(body)
        if method == LIST_METHOD and mock.profile is not None:
            inner = body.get(response_key(LIST_METHOD), {})
            items = inner.get("refunds", {}).get("refund", []) if isinstance(inner, dict) else []
            mock.break_listed(items, shop_id, id_field="refund_id", field="refund_fee")
        log("ok" if fault is None else f"fault:{fault.kind}")
        return _json(body)

    async def _early_fault(
        fault: Fault, params: dict[str, str], request_id: str, method: str | None
    ) -> Response | None:
        kind = fault.kind
        if kind == "platform_error":
            return _json(_fault_error(fault, request_id))
        if kind == "http_status":
            headers = {}
            if fault.params.get("retry_after_s") is not None:
                headers["Retry-After"] = str(int(fault.number("retry_after_s", 1)))
            status = int(fault.params.get("status", 502))
            return Response(
                f"<html><body>{status} Bad Gateway</body></html>",
                status_code=status,
                headers=headers,
                media_type="text/html",
            )
        if kind == "latency":
            await asyncio.sleep(fault.number("seconds", 0.2))
            return None
        if kind == "hang":
            await asyncio.sleep(fault.number("seconds", 30))
            return Response("gateway timeout", status_code=504)
        if kind == "reset":
            return DropConnection()
        if kind == "malformed_body":
            key = response_key(method or "taobao.unknown")
            return Response(
                f'{{"{key}": {{"request_id": "{request_id}", "refu', media_type=JSON_TYPE
            )
        if kind == "change_before":
            _change_before(params)
        return None

    routes: list[BaseRoute] = [Route("/router/rest", router_rest, methods=["GET", "POST"])]
    if test_mode:
        routes += control_routes(mock) + _taobao_routes(mock, gateway)
    return Starlette(routes=routes)


def shop_view(shop: ShopConfig) -> dict[str, Any]:
    return {
        "shop_id": shop.shop_id,
        "session": shop.session,
        "tmall": shop.tmall,
        "seller_nick": shop.seller_nick,
        "sub_account": shop.sub_account,
        "session_valid": shop.session_valid,
    }


def _taobao_routes(mock: TaobaoMock, gateway: Gateway) -> list[BaseRoute]:
    """Taobao extensions of the control API (documented in docs/mocks.md)."""

    async def get_sms(request: Request) -> Response:
        shop = request.query_params.get("shop", "")
        with mock.lock:
            code = mock.pending_sms.get(shop)
        if code is None:
            raise KeyError(f"no SMS code pending for shop {shop!r}")
        return JSONResponse({"shop_id": shop, "code": code})

    async def get_shops(request: Request) -> Response:
        with mock.lock:
            shops = [shop_view(s) for s in mock.shops.values()]
        return JSONResponse(
            {"app_key": mock.config.app_key, "app_secret": mock.config.app_secret, "shops": shops}
        )

    async def post_shops(request: Request) -> Response:
        body = await json_body(request)
        known = {"shop_id", "session", "tmall", "seller_nick", "sub_account", "session_valid"}
        if set(body) - known or not isinstance(body.get("shop_id"), str):
            msg = f"shop body needs shop_id and may hold {sorted(known)}"
            raise ValueError(msg)
        with mock.lock:
            old = mock.shops.get(body["shop_id"])
            merged = {**(shop_view(old) if old else {}), **body}
            merged.setdefault("session", f"{mock.config.session}-{body['shop_id']}")
            shop = mock.add_shop(ShopConfig(**merged))
        return JSONResponse(shop_view(shop))

    async def post_quotas(request: Request) -> Response:
        body = await json_body(request)
        known = {
            "app_qps",
            "method_qps",
            "method_qps_overrides",
            "daily_quota",
            "sms_threshold_fen",
        }
        if set(body) - known:
            msg = f"quota body may hold only {sorted(known)}"
            raise ValueError(msg)
        with mock.lock:
            for key, value in body.items():
                setattr(
                    mock.config, key, value if key != "method_qps_overrides" else dict(value or {})
                )
            gateway.reload_quotas()
            cfg = mock.config
            view = {k: getattr(cfg, k) for k in sorted(known)}
        return JSONResponse(view)

    async def post_timers(request: Request) -> Response:
        body = await json_body(request)
        unknown = set(body) - set(DEFAULT_TIMERS)
        if unknown or not all(isinstance(v, int | float) and v > 0 for v in body.values()):
            msg = f"timers body maps names {sorted(DEFAULT_TIMERS)} to seconds > 0"
            raise ValueError(msg)
        with mock.lock:
            mock.config.timers.update({k: float(v) for k, v in body.items()})
            return JSONResponse(dict(mock.config.timers))

    table = [
        ("/__mock/sms", get_sms, ["GET"]),
        ("/__mock/shops", get_shops, ["GET"]),
        ("/__mock/shops", post_shops, ["POST"]),
        ("/__mock/quotas", post_quotas, ["POST"]),
        ("/__mock/timers", post_timers, ["POST"]),
    ]
    return [Route(path, guarded(handler), methods=methods) for path, handler, methods in table]
