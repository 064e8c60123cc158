"""The console's "policy safety" page (issue 20): the kill switch with its admin buttons, the
blast-radius caps' state, and shadow vs live vs people, per shop.

Its own module and template so the console's pages can be reworked around it; ``app.py`` only
adds ``*safety_routes()`` to its routes. Ops and admins see it; only admins pause and resume.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from connector import caps, pause
from connector.console.app import Page, page
from connector.errors import PolicyError
from connector.policy import history, shadow
from connector.store import CapEntryKind, ConsoleRole, PolicyRole

OPS = {ConsoleRole.ops, ConsoleRole.admin}


def _shop_ids(p: Page) -> list[str]:
    known = {s.shop_id for s in p.store.list_shops()}
    known |= {i.shop_id for i in p.store.policy_installs() if i.shop_id is not None}
    return sorted(known)


def shadow_rows(p: Page) -> list[dict[str, Any]]:
    rows = []
    for shop_id in _shop_ids(p):
        live = p.store.current_policy_install(shop_id, PolicyRole.live)
        report = shadow.shadow_report(p.store, shop_id).as_json()
        report["live_version"] = live.version if live is not None else "(configured file)"
        report["running"] = shadow.current_version(p.store, shop_id) is not None
        rows.append(report)
    return rows


def cap_rows(p: Page) -> list[dict[str, Any]]:
    now = p.now()
    rows = []
    for shop_id in _shop_ids(p):
        live = p.store.current_policy_install(shop_id, PolicyRole.live)
        limits = None
        if live is not None and live.version is not None:
            try:
                limits = history.stored_policy(p.store, live.version).caps
            except PolicyError:
                limits = None
        row: dict[str, Any] = {"shop_id": shop_id, "caps": limits, "crossed": False}
        for window, span in (("hour", caps.HOUR), ("day", caps.DAY)):
            count, fen = p.store.cap_usage(shop_id, kind=CapEntryKind.counted, since=now - span)
            row[window] = {"count": count, "fen": fen}
        row["held"] = p.store.cap_usage(shop_id, kind=CapEntryKind.held, since=now - caps.DAY)[0]
        row["held_hour"] = p.store.cap_usage(
            shop_id, kind=CapEntryKind.held, since=now - caps.HOUR
        )[0]
        row["fallbacks"] = p.store.cap_usage(
            shop_id, kind=CapEntryKind.fallback, since=now - caps.DAY
        )[0]
        row["crossed"] = row["held_hour"] > 0
        rows.append(row)
    return rows


def _render(p: Page, status: int = 200, error: str = "") -> Response:
    file_switch = pause.pause_file(p.store)
    return p.render(
        "safety.html",
        status=status,
        error=error,
        shadows=shadow_rows(p),
        cap_rows=cap_rows(p),
        pauses=p.store.open_pauses(),
        file_switch=str(file_switch) if file_switch else "",
        file_on=bool(file_switch and file_switch.exists()),
        shops=_shop_ids(p),
        is_admin=p.user.role is ConsoleRole.admin,
    )


@page(roles=OPS)
def safety_page(p: Page) -> Response:
    return _render(p)


@page(roles={ConsoleRole.admin})
def pause_post(p: Page) -> Response:
    why = p.field("why")
    if not why:
        return _render(p, 400, "Say why you pause. 请填写暂停原因。")
    pause.pause(
        p.store,
        shop_id=p.field("shop") or None,
        actor=p.actor,
        why=f"{why} (console)",
        hold_fallbacks=p.field("hold_fallbacks") == "on",
    )
    return RedirectResponse("/safety", status_code=303)


@page(roles={ConsoleRole.admin})
def resume_post(p: Page) -> Response:
    resumed = pause.resume(
        p.store,
        shop_id=p.field("shop") or None,
        reason_code=p.field("reason_code") or None,
        actor=p.actor,
        why="console",
    )
    if not resumed:
        return _render(p, 400, "Nothing was paused for that. 该范围没有暂停。")
    return RedirectResponse("/safety", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/safety", safety_page, methods=["GET"]),
        Route("/safety/pause", pause_post, methods=["POST"]),
        Route("/safety/resume", resume_post, methods=["POST"]),
    ]
