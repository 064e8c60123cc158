"""The Starlette app of the JD fake: ``/routerjson`` plus, in test mode, the ``/__mock`` routes.

Faults from the plan, or else from a running fault profile (``FakePlatform.next_fault``), wrap
the gateway call here so the state code stays free of them; the profile's listing effects are
``mocks.jd.listing``'s. Each answer carries the request id in the ``X-Request-Id`` header [I]
(JD bodies have no slot for it).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from dataclasses import fields as dataclass_fields
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mocks.jd import asc, refundapply
from mocks.jd.config import DEFAULT_TIMERS, JdShop
from mocks.jd.gateway import Gateway, GatewayError, Quotas, responce_key
from mocks.jd.listing import break_listed_rows
from mocks.jd.state import JdMock
from mocks.kit.abort import AbortConnection, transport_fault
from mocks.kit.control import control_routes, guarded, json_body
from mocks.kit.faults import BROKEN, POISON_MARK, Fault, poisoned_body

MEDIA = "application/json;charset=utf-8"
TRANSPORT_KINDS = frozenset({"http_status", "latency", "hang", "reset"})
WRITE_METHODS = asc.WRITE_METHODS | {refundapply.PREFIX + "replyRefund"}
"""Calls that change platform state: the profile drops some answers and has buyers act first."""


def _answer(body: dict[str, Any], request_id: str) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text, media_type=MEDIA, headers={"X-Request-Id": request_id})


async def merged_params(request: Request) -> dict[str, str]:
    """Query string and form fields (urlencoded or multipart text) in one map; form wins."""
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update(
            (name, value) for name, value in form.multi_items() if not isinstance(value, UploadFile)
        )
    return params


def break_first_item(body: dict[str, Any], field: str | None) -> None:
    """``malformed_item``: damage one field of the first listed row (or the single object)."""
    business = next(iter(body.values()))
    payload = next((v for k, v in business.items() if k != "code"), None)
    if not isinstance(payload, dict):
        return
    rows = payload.get("result") if "result" in payload else payload.get("data")
    target = rows[0] if isinstance(rows, list) and rows else rows
    if isinstance(target, dict):
        default = "applyRefundSum" if "applyRefundSum" in target else "actualPayPrice"
        target[field or default] = BROKEN


def poison_listed_row(body: dict[str, Any], fault: Fault) -> bytes | None:
    """``poison_item``: the answer with the named record's list row poisoned (its ``field``,
    default ``applyReason``/``questionDesc``), or None when the answer does not list it."""
    business = next(iter(body.values()))
    payload = next((v for k, v in business.items() if k != "code"), None)
    if not isinstance(payload, dict):
        return None
    rows = payload.get("result") if "result" in payload else payload.get("data")
    wanted = fault.text("case")
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and wanted in (str(row.get("id")), str(row.get("serviceId"))):
            default = "applyReason" if "serviceId" not in row else "questionDesc"
            row[fault.text("field") or default] = POISON_MARK
            return poisoned_body(json.dumps(body, ensure_ascii=False, separators=(",", ":")), fault)
    return None


def _named_record(params: dict[str, str]) -> str | None:
    """The case a call is about: ``serviceId`` or ``id`` inside ``360buy_param_json``."""
    try:
        values = json.loads(params.get("360buy_param_json") or "{}")
    except json.JSONDecodeError:
        return None
    if not isinstance(values, dict):
        return None
    named = values.get("serviceId") or values.get("id")
    return None if named is None else str(named)


def create_app(mock: JdMock, *, test_mode: bool = True) -> Starlette:
    """The ASGI app. Control routes under ``/__mock`` exist only when ``test_mode`` is on."""
    gateway = Gateway(mock)

    async def routerjson(request: Request) -> Response:
        started = time.perf_counter()
        request_id = gateway.new_request_id()
        params = await merged_params(request)
        method = params.get("method")
        with mock.lock:
            shop = mock.shop_for_token(params.get("access_token"))
        shop_id = shop.shop_id if shop else None

        def log(outcome: str) -> None:
            ms = (time.perf_counter() - started) * 1000
            mock.record_request(
                method=method, shop_id=shop_id, outcome=outcome, ms=ms, request_id=request_id
            )

        fault = mock.next_fault(
            method, shop_id, write=method in WRITE_METHODS, case_of=lambda: _named_record(params)
        )
        if fault is not None:
            if fault.kind == "hang":  # logged as it arrives, not after the client gave up
                log("fault:hang")
            early = await _before_call(fault, params, request_id)
            if early is not None:
                if fault.kind != "hang":
                    log(f"fault:{fault.kind}")
                return early
        try:
            with mock.lock:
                body = gateway.call(params, request_id)
        except GatewayError as err:
            log(f"error:{err.code}")
            return _answer(err.body(), request_id)
        if fault is None or fault.kind in TRANSPORT_KINDS | {"change_before"}:
            break_listed_rows(mock, body, method, shop_id)
            log("ok" if fault is None else f"fault:{fault.kind}")
            return _answer(body, request_id)
        if fault.kind == "poison_item":
            poisoned = poison_listed_row(body, fault)
            log("fault:poison_item" if poisoned is not None else "ok")
            if poisoned is None:
                return _answer(body, request_id)
            return Response(poisoned, media_type=MEDIA, headers={"X-Request-Id": request_id})
        log(f"fault:{fault.kind}")
        if fault.kind == "apply_then_drop":
            return AbortConnection()
        break_first_item(body, fault.text("field") or None)
        return _answer(body, request_id)

    async def _before_call(
        fault: Fault, params: dict[str, str], request_id: str
    ) -> Response | None:
        if fault.kind == "platform_error":
            ban = fault.params.get("ban_s")
            err = GatewayError(
                str(fault.params["code"]),
                zh=fault.text("msg") or None,
                ban_s=None if ban is None else int(ban),
            )
            return _answer(err.body(), request_id)
        if fault.kind == "malformed_body":
            key = responce_key(params.get("method") or "jingdong.unknown")
            return Response(f'{{"{key}":{{"code":"0","result":{{"succ', media_type=MEDIA)
        if fault.kind == "change_before":
            named = _named_record(params)
            with mock.lock:
                mock.run_timers()
                if named:
                    mock.buyer_touch(named)
            return None
        if fault.kind in TRANSPORT_KINDS:
            return await transport_fault(fault)
        return None

    routes: list[BaseRoute] = [Route("/routerjson", routerjson, methods=["GET", "POST"])]
    if test_mode:
        routes += control_routes(mock) + jd_control_routes(mock, gateway)
    return Starlette(routes=routes)


def shop_json(shop: JdShop) -> dict[str, Any]:
    """A shop as the control API shows it: every ``JdShop`` field under its own name."""
    return asdict(shop)


def _settings(body: dict[str, Any], allowed: set[str], what: str) -> dict[str, Any]:
    unknown = set(body) - allowed
    if unknown:
        msg = f"{what} body has unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}"
        raise ValueError(msg)
    return body


def jd_control_routes(mock: JdMock, gateway: Gateway) -> list[BaseRoute]:
    """JD extensions of the control API: shops, timers, quotas (docs/mocks.md, JD section)."""

    async def list_shops(request: Request) -> Response:
        with mock.lock:
            shops = [shop_json(s) for s in mock.shops.values()]
        cfg = mock.config
        return JSONResponse({"app_key": cfg.app_key, "app_secret": cfg.app_secret, "shops": shops})

    async def put_shop(request: Request) -> Response:
        body = _settings(
            await json_body(request), {f.name for f in dataclass_fields(JdShop)}, "shop"
        )
        if not isinstance(body.get("shop_id"), str) or not body["shop_id"]:
            raise ValueError("shop body needs a shop_id")
        with mock.lock:
            old = mock.shops.get(body["shop_id"])
            merged = {**(shop_json(old) if old else {}), **body}
            merged.setdefault("access_token", f"{mock.config.access_token}-{body['shop_id']}")
            merged.setdefault("bu_id", str(10001 + len(mock.shops)))
            shop = mock.add_shop(JdShop(**merged))
        return JSONResponse(shop_json(shop))

    async def set_timers(request: Request) -> Response:
        body = _settings(await json_body(request), set(DEFAULT_TIMERS), "timers")
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in body.values()
        ):
            raise ValueError("timers map names to seconds > 0")
        with mock.lock:
            mock.config.timers.update({k: float(v) for k, v in body.items()})
            return JSONResponse(dict(mock.config.timers))

    async def set_quotas(request: Request) -> Response:
        names = {"daily_quota", "app_qps", "method_qps", "timeout_warning_s"}
        body = _settings(await json_body(request), names, "quotas")
        with mock.lock:
            for name, value in body.items():
                if value is None and name == "timeout_warning_s":
                    raise ValueError("timeout_warning_s cannot be switched off")
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
                ):
                    raise ValueError(f"{name} must be a number > 0 or null (off)")
                setattr(mock.config, name, value)
            gateway.quotas = Quotas(mock)
            return JSONResponse({n: getattr(mock.config, n) for n in sorted(names)})

    table = [
        ("/__mock/shops", list_shops, "GET"),
        ("/__mock/shops", put_shop, "POST"),
        ("/__mock/timers", set_timers, "POST"),
        ("/__mock/quotas", set_quotas, "POST"),
    ]
    return [Route(path, guarded(fn), methods=[verb]) for path, fn, verb in table]
