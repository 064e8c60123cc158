"""The shared ``/__mock`` control routes (docs/mocks.md), served for any ``FakePlatform``.

Bad bodies answer 400 with ``{"error": "..."}`` naming what is wrong; unknown cases answer 404.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mocks.kit.platform import FakePlatform
from mocks.kit.profile import ProfiledFake

Handler = Callable[[Request], Awaitable[Response]]


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        msg = f"body is not JSON: {exc.msg} at position {exc.pos}"
        raise ValueError(msg) from exc
    if not isinstance(body, dict):
        msg = "body must be a JSON object"
        raise ValueError(msg)
    return body


def guarded(handler: Handler) -> Handler:
    """Turn ValueError into 400 and KeyError into 404, each with a plain message."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except KeyError as exc:
            return JSONResponse({"error": f"not found: {exc.args[0] if exc.args else ''}"}, 404)

    return wrapper


def _since(request: Request) -> int:
    raw = request.query_params.get("since", "0")
    try:
        return int(raw)
    except ValueError as exc:
        msg = f"since must be an integer sequence number, got {raw!r}"
        raise ValueError(msg) from exc


def control_routes(platform: FakePlatform) -> list[BaseRoute]:
    """The routes every fake serves under ``/__mock`` when test mode is on."""

    async def get_clock(request: Request) -> Response:
        return JSONResponse(platform.clock_view())

    async def post_clock(request: Request) -> Response:
        return JSONResponse(platform.change_clock(await json_body(request)))

    async def post_cases(request: Request) -> Response:
        body = await json_body(request)
        return JSONResponse({"case_ids": platform.add_cases(body.get("cases"))})

    async def post_scenario(request: Request) -> Response:
        return JSONResponse(platform.add_scenario(await json_body(request)))

    async def get_cases(request: Request) -> Response:
        with platform.lock:
            platform.run_timers()
            views = platform.case_views(request.query_params.get("shop"))
        return JSONResponse({"cases": views})

    async def get_case(request: Request) -> Response:
        with platform.lock:
            platform.run_timers()
            view = platform.case_view(request.path_params["case_id"])
        return JSONResponse(view)

    async def post_buyer(request: Request) -> Response:
        body = await json_body(request)
        with platform.lock:
            platform.run_timers()
            view = platform.buyer_action(request.path_params["case_id"], body)
        return JSONResponse(view)

    async def post_faults(request: Request) -> Response:
        body = await json_body(request)
        return JSONResponse({"rules": platform.faults.add(body.get("rules"))})

    async def delete_faults(request: Request) -> Response:
        platform.faults.clear()
        return JSONResponse({"rules": 0})

    async def get_ledger(request: Request) -> Response:
        with platform.lock:
            platform.run_timers()
        entries, nxt = platform.ledger.since(_since(request))
        return JSONResponse({"entries": entries, "next": nxt})

    async def get_requests(request: Request) -> Response:
        entries, nxt = platform.requests.since(_since(request))
        return JSONResponse({"requests": entries, "next": nxt})

    async def post_reset(request: Request) -> Response:
        platform.reset()
        return JSONResponse({})

    table: list[tuple[str, Handler, list[str]]] = [
        ("/__mock/clock", get_clock, ["GET"]),
        ("/__mock/clock", post_clock, ["POST"]),
        ("/__mock/cases", post_cases, ["POST"]),
        ("/__mock/cases", get_cases, ["GET"]),
        ("/__mock/scenario", post_scenario, ["POST"]),
        ("/__mock/cases/{case_id}", get_case, ["GET"]),
        ("/__mock/buyer/{case_id}", post_buyer, ["POST"]),
        ("/__mock/faults", post_faults, ["POST"]),
        ("/__mock/faults", delete_faults, ["DELETE"]),
        ("/__mock/ledger", get_ledger, ["GET"]),
        ("/__mock/requests", get_requests, ["GET"]),
        ("/__mock/reset", post_reset, ["POST"]),
    ]
    routes = [Route(path, guarded(handler), methods=methods) for path, handler, methods in table]
    return routes + profile_routes(platform)


def profile_routes(fake: ProfiledFake) -> list[BaseRoute]:
    """``/__mock/faults/profile`` (POST switches on, GET shows, DELETE switches off and tells
    what was injected), for any fake that serves the profile's faults."""

    async def post_profile(request: Request) -> Response:
        return JSONResponse(fake.start_profile(await json_body(request)))

    async def get_profile(request: Request) -> Response:
        return JSONResponse(fake.profile_view())

    async def delete_profile(request: Request) -> Response:
        return JSONResponse(fake.stop_profile())

    path = "/__mock/faults/profile"
    return [
        Route(path, guarded(post_profile), methods=["POST"]),
        Route(path, guarded(get_profile), methods=["GET"]),
        Route(path, guarded(delete_profile), methods=["DELETE"]),
    ]
