"""HTTP face of the fake warehouse: a small JSON API with an API-key header, plus ``/__mock``.

API (header ``X-Api-Key``):
  GET  /api/orders/{order_id}          -> order view (state not_printed|printed|shipped|voided)
  POST /api/orders/{order_id}/void     -> {"result": "voided" | "already_voided", ...order view}
                                          409 order_printed / order_shipped: refused
  GET  /api/orders/{order_id}/return   -> {"received": bool, "inspection": {resellable, note}}
Errors: {"error": {"code", "message"}} with 401 unauthorized, 404 order_not_found, 409 refusals.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mocks.kit.abort import AbortConnection
from mocks.kit.clock import ClockLike, apply_clock_change
from mocks.kit.control import guarded, json_body, profile_routes
from mocks.kit.faults import Fault, parse_rule
from mocks.warehouse.state import WarehouseError, WarehouseMock

API_KEY_HEADER = "X-Api-Key"
DEFAULT_API_KEY = "warehouse-dev-key"
WAREHOUSE_FAULTS = frozenset(
    {
        "http_status",
        "platform_error",
        "latency",
        "hang",
        "reset",
        "malformed_body",
        "apply_then_drop",
    }
)
WRITE_OPERATIONS = frozenset({"void_order"})
Handler = Callable[[Request], Awaitable[Response]]


def create_app(
    *,
    api_key: str = DEFAULT_API_KEY,
    test_mode: bool = False,
    clock: ClockLike | None = None,
    mock: WarehouseMock | None = None,
) -> Starlette:
    """The fake warehouse; ``mock`` (its state) is on ``app.state.mock`` for in-process tests."""
    wh = mock or WarehouseMock(clock)

    def authorised(request: Request) -> bool:
        given = request.headers.get(API_KEY_HEADER, "")
        return hmac.compare_digest(given.encode(), api_key.encode())

    async def early_fault(fault: Fault) -> Response | None:
        if fault.kind == "http_status":
            status = int(fault.params.get("status", 502))
            headers = {}
            if fault.params.get("retry_after_s") is not None:
                headers["Retry-After"] = str(int(fault.number("retry_after_s", 1)))
            return JSONResponse(
                {"error": {"code": "server_error", "message": f"HTTP {status}"}},
                status_code=status,
                headers=headers,
            )
        if fault.kind == "platform_error":  # a ban: the warehouse's rate limit, with its wait
            wait = int(fault.number("ban_s", 1))
            message = fault.text("msg") or f"too many requests, retry after {wait} seconds"
            return JSONResponse(
                {"error": {"code": "rate_limited", "message": message}},
                status_code=429,
                headers={"Retry-After": str(wait)},
            )
        if fault.kind == "latency":
            await asyncio.sleep(fault.number("seconds", 0.2))
            return None
        if fault.kind == "hang":
            await asyncio.sleep(fault.number("seconds", 30))
            return JSONResponse({"error": {"code": "timeout", "message": "hung"}}, 504)
        if fault.kind == "reset":
            return AbortConnection()
        if fault.kind == "malformed_body":
            return Response('{"order_id": "', media_type="application/json")
        return None

    def api(operation: str, action: Callable[[str, dict[str, Any]], dict[str, Any]]) -> Handler:
        async def handler(request: Request) -> Response:
            started = time.perf_counter()
            order_id = request.path_params["order_id"]
            shop = wh.shop_of(order_id)

            def log(outcome: str) -> None:
                wh.log_request(operation, shop, outcome, (time.perf_counter() - started) * 1000)

            if not authorised(request):
                log("error:unauthorized")
                err = WarehouseError(401, "unauthorized", f"missing or wrong {API_KEY_HEADER}")
                return JSONResponse(err.body(), status_code=401)
            try:
                body = await json_body(request)
            except ValueError as exc:
                log("error:bad_request")
                return JSONResponse({"error": {"code": "bad_request", "message": str(exc)}}, 400)
            fault = wh.next_fault(operation, shop, write=operation in WRITE_OPERATIONS)
            if fault is not None and fault.kind != "apply_then_drop":
                if fault.kind == "hang":
                    # Logged as it arrives: the client gave up at its timeout, and an entry
                    # written when the hang ends could land after a reset of the log.
                    log("fault:hang")
                early = await early_fault(fault)
                if early is not None:
                    if fault.kind != "hang":
                        log(f"fault:{fault.kind}")
                    return early
            try:
                answer = action(order_id, body)
            except WarehouseError as err:
                log(f"error:{err.code}")
                return JSONResponse(err.body(), status_code=err.status)
            if fault is not None and fault.kind == "apply_then_drop":
                log("fault:apply_then_drop")
                return AbortConnection()
            log("ok" if fault is None else f"fault:{fault.kind}")
            return JSONResponse(answer)

        return handler

    def get_order(order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with wh.lock:
            return wh.order_view(wh.order(order_id))

    def void_order(order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        request_id = body.get("request_id")
        return wh.void(order_id, request_id if isinstance(request_id, str) else None)

    def get_return(order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return wh.return_view(order_id)

    routes: list[BaseRoute] = [
        Route("/api/orders/{order_id}", api("get_order", get_order), methods=["GET"]),
        Route("/api/orders/{order_id}/void", api("void_order", void_order), methods=["POST"]),
        Route("/api/orders/{order_id}/return", api("get_return", get_return), methods=["GET"]),
    ]
    if test_mode:
        routes += _control_routes(wh)
    app = Starlette(routes=routes)
    app.state.mock = wh
    return app


def _since(request: Request) -> int:
    raw = request.query_params.get("since", "0")
    try:
        return int(raw)
    except ValueError as exc:
        msg = f"since must be an integer sequence number, got {raw!r}"
        raise ValueError(msg) from exc


def _control_routes(wh: WarehouseMock) -> list[BaseRoute]:
    """The ``/__mock`` control API of docs/mocks.md, with orders instead of cases."""

    async def get_clock(request: Request) -> Response:
        return JSONResponse({"now": wh.now().isoformat(), "frozen": wh.clock.frozen})

    async def post_clock(request: Request) -> Response:
        apply_clock_change(wh.clock, await json_body(request))
        return JSONResponse({"now": wh.now().isoformat(), "auto_acts": []})

    async def post_orders(request: Request) -> Response:
        body = await json_body(request)
        return JSONResponse({"order_ids": wh.add_orders(body.get("orders"))})

    async def get_orders(request: Request) -> Response:
        return JSONResponse({"orders": wh.order_views()})

    async def post_order(request: Request) -> Response:
        body = await json_body(request)
        return JSONResponse(wh.move_order(request.path_params["order_id"], body))

    async def post_return(request: Request) -> Response:
        body = await json_body(request)
        return JSONResponse(wh.receive_return(request.path_params["order_id"], body))

    async def post_faults(request: Request) -> Response:
        rules = (await json_body(request)).get("rules")
        if not isinstance(rules, list):
            msg = "rules must be a list of FaultRule objects"
            raise ValueError(msg)
        for index, raw in enumerate(rules):
            kind = parse_rule(raw, f"rules[{index}]").fault.kind
            if kind not in WAREHOUSE_FAULTS:
                msg = f"rules[{index}].fault.kind {kind!r} does not apply to the warehouse"
                raise ValueError(msg)
        return JSONResponse({"rules": wh.faults.add(rules)})

    async def delete_faults(request: Request) -> Response:
        wh.faults.clear()
        return JSONResponse({"rules": 0})

    async def get_ledger(request: Request) -> Response:
        entries, nxt = wh.ledger.since(_since(request))
        return JSONResponse({"entries": entries, "next": nxt})

    async def get_requests(request: Request) -> Response:
        entries, nxt = wh.requests.since(_since(request))
        return JSONResponse({"requests": entries, "next": nxt})

    async def post_reset(request: Request) -> Response:
        wh.reset()
        return JSONResponse({})

    table: list[tuple[str, Handler, list[str]]] = [
        ("/__mock/clock", get_clock, ["GET"]),
        ("/__mock/clock", post_clock, ["POST"]),
        ("/__mock/orders", post_orders, ["POST"]),
        ("/__mock/orders", get_orders, ["GET"]),
        ("/__mock/orders/{order_id}", post_order, ["POST"]),
        ("/__mock/returns/{order_id}", post_return, ["POST"]),
        ("/__mock/faults", post_faults, ["POST"]),
        ("/__mock/faults", delete_faults, ["DELETE"]),
        ("/__mock/ledger", get_ledger, ["GET"]),
        ("/__mock/requests", get_requests, ["GET"]),
        ("/__mock/reset", post_reset, ["POST"]),
    ]
    routes = [Route(path, guarded(h), methods=methods) for path, h, methods in table]
    return routes + profile_routes(wh)
