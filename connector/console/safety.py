"""The console's "policy safety" page: shadow vs live vs people per shop (issue 20).

Its own module and template so the console's pages can be reworked around it; ``app.py`` only
adds ``*safety_routes()`` to its routes. Ops and admins see it.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from connector.console.app import Page, page
from connector.policy import shadow
from connector.store import ConsoleRole, PolicyRole

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


@page(roles=OPS)
def safety_page(p: Page) -> Response:
    return p.render("safety.html", shadows=shadow_rows(p))


def routes() -> list[Route]:
    return [Route("/safety", safety_page, methods=["GET"])]
