"""``demo --serve``: after the summary, the web console and the ops endpoints on one loopback
port while the fakes and the daemon keep running, until Ctrl-C.

The console is mounted under the ops routes, so ``/healthz``, ``/readyz`` and ``/metrics`` answer
on the console's own port (as ``connector/observability.py`` describes). Guarded by
tests/unit/test_demo_explains.py::test_demo_serve_answers_health_readiness_metrics_and_the_console.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from starlette.applications import Starlette
from starlette.routing import Mount

from connector.clock import Clock
from connector.console.serving import create_demo_accounts, desk_app, wait_for_interrupt
from connector.observability import ops_routes
from connector.serving import LoopbackServer
from connector.store import Store


def _adapters(daemon: Any | None) -> dict[tuple[str, str], Any] | None:
    """The demo daemon's adapters per shop, so reviewers can reveal buyer contact."""
    if daemon is None:
        return None
    return {key: shop.adapter for key, shop in daemon.shops.items()}


def demo_app(store: Store, clock: Clock, daemon: Any | None) -> Starlette:
    """The console with /healthz, /readyz and /metrics beside it, over the daemon's store."""
    return Starlette(
        routes=[
            *ops_routes(lambda: store, daemon, clock=clock),
            Mount("/", app=desk_app(store, clock, adapters=_adapters(daemon))),
        ]
    )


def serve_hook(
    console: Console,
    print_summary: Callable[[dict[str, Any], Console], None],
    port: int | None,
    *,
    wait: Callable[[], None] = wait_for_interrupt,
) -> Callable[[dict[str, Any], Store, Clock, Any], None]:
    """Print the summary, then serve until ``wait`` returns (Ctrl-C)."""

    def hook(summary: dict[str, Any], store: Store, clock: Clock, daemon: Any) -> None:
        print_summary(summary, console)
        logins = create_demo_accounts(store)
        server = LoopbackServer(demo_app(store, clock, daemon), port=port, name="console")
        with server as url:
            lines = [
                "",
                f"console: {url}/  (Ctrl-C stops the demo)",
                *(f"  login {name} / {password}  ({role})" for name, role, password in logins),
                f"ops:     {url}/healthz  {url}/readyz  {url}/metrics",
            ]
            for line in lines:
                console.print(line, soft_wrap=True, highlight=False, markup=False)
            wait()

    return hook
